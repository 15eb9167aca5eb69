# Budgeted steps for the prepared GPU scripts (gpu_check.sh, gpu_label_efficiency.sh); sourced, not run.
# The caller sets BUDGET (total seconds), LOG (what comes back: summary.txt and steps.log), WORK (scratch) and
# TAIL_LINES (how much of each step's log to print), then calls gpu_steps_init.

gpu_steps_init() {
    mkdir -p "$LOG" "$WORK"
    SUMMARY="$LOG/summary.txt"
    : > "$SUMMARY"
    : > "$LOG/steps.log"
}

limit_for() {  # limit_for CAP: the cap, cut to the budget left; empty when under 20 s are left
    local left=$((BUDGET - SECONDS)) cap=$1
    local limit=$(( cap < left ? cap : left ))
    [ "$limit" -ge 20 ] && echo "$limit"
}

report() {  # report NAME RC SECONDS LIMIT COMMAND...: status line in the summary, whole log in steps.log
    local name=$1 rc=$2 took=$3 limit=$4; shift 4
    local status="rc=$rc"; [ "$rc" -eq 124 ] && status="TIMED OUT after ${limit}s"
    echo "$name: $status, ${took}s" | tee -a "$SUMMARY"
    { echo "===== $name: $status, ${took}s: $*"; cat "$WORK/$name.log"; } >> "$LOG/steps.log"
    tail -n "$TAIL_LINES" "$WORK/$name.log"
}

step() {  # step NAME CAP COMMAND...: one command under the cap and the budget left
    local name=$1 limit; limit=$(limit_for "$2"); shift 2
    if [ -z "$limit" ]; then echo "$name: skipped (budget spent at ${SECONDS}s)" | tee -a "$SUMMARY"; return; fi
    echo "== $name (limit ${limit}s): $*"
    local start=$SECONDS
    timeout --kill-after=5 "$limit" "$@" > "$WORK/$name.log" 2>&1
    report "$name" $? $((SECONDS - start)) "$limit" "$@"
}
