"""``skseqclr pretrain``: pretrain SeqCLR on one or more datasets and save the encoder."""

from __future__ import annotations

import sys
import time

from ..training import distributed as D
from ._common import (CONFIG_FILE, DEFAULT_SFREQ, EXIT_OK, WEIGHTS_FILE, UsageError, _jsonable, _make_transformer,
                      _say, _transformer_params, _versions, _write_json)
from ._data import _check_data_dir, _load, _load_own

def _check_pretrain_usage(parser, args) -> None:
    """``parser.error`` (exit 2) for ``pretrain`` options that need each other."""
    if args.resume and args.checkpoint_dir is None:
        parser.error("--resume needs --checkpoint-dir, the folder of the checkpoint to continue from.")
    if args.checkpoint_every is not None and args.checkpoint_dir is None:
        parser.error("--checkpoint-every needs --checkpoint-dir, the folder to write checkpoints to.")
    if not args.dataset and not args.data:
        parser.error("one of --dataset or --data is required.")
    if args.dataset and args.data:
        parser.error("give --dataset or --data, not both.")


def _resumed_from_step(args):
    """The step of the checkpoint ``--resume`` continues from (read safely), or None when it starts afresh."""
    from ..training.checkpoint import CHECKPOINT_NAME, load_checkpoint

    path = None if not args.resume else args.checkpoint_dir / CHECKPOINT_NAME
    if path is None or not path.is_file():
        return None
    try:
        state = load_checkpoint(path)  # tensors and plain data only
    except ValueError:
        return None  # fit refuses it, on every process together
    step = state.get("step") if isinstance(state, dict) else None
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def _pretrain(args) -> int:
    from ..inputs import MultiDataset
    from ..options import OPTION_CLASSES

    import torch.distributed as dist

    already = dist.is_available() and dist.is_initialized()
    initialised_here = D.init_from_env() and not already
    try:
        args.sfreq = args.sfreq or DEFAULT_SFREQ
        _check_data_dir(args.data_dir)
        if args.output.exists() and not args.output.is_dir():
            raise UsageError(f"--output {args.output} exists and is not a folder.")
        names = list(dict.fromkeys(args.dataset or ["data"]))
        windows, described, ch_names = [], [], None
        for name in names:
            if args.data:
                data = _load_own(args, args.quiet or not D.is_main_process(), labelled=False)
                ch_names = data.ch_names
            else:
                data = _load(name, args, args.quiet or not D.is_main_process())
            part_groups = data.part_groups(args.split)
            if len(part_groups) == 0:
                raise UsageError(f"{name} has no windows in --split {args.split} ({data.description}).")
            X, _ = data.part(args.split)
            windows.append(X)
            described.append({"dataset": name, "split": args.split, "n_windows": len(X),
                              "description": data.description})
        for d in described:
            _say(args, f"Data ({d['split']}): {d['description']} -> {d['n_windows']} windows")
        params = _transformer_params(args, args.sfreq, seed=args.seed)
        if ch_names is not None:
            params.setdefault("ch_names", ch_names)
        if args.checkpoint_dir is not None:
            params.update(checkpointing__directory=args.checkpoint_dir, checkpointing__every=args.checkpoint_every,
                          checkpointing__resume=args.resume)
        if not D.is_main_process():
            params["verbose"] = 0
        transformer = _make_transformer(params)
        # with --resume, fit refuses a checkpoint of another run, so config.json describes the weights
        resumed_from = _resumed_from_step(args) if D.is_main_process() else None
        started = time.perf_counter()
        # several --dataset: pooled for pretraining (their montages differ), each batch from one of them
        transformer.fit(MultiDataset(windows) if len(windows) > 1 else windows[0],
                        snapshot_steps=tuple(args.snapshot_steps) if args.snapshot_steps else None)
        elapsed = time.perf_counter() - started
        if D.is_main_process():
            args.output.mkdir(parents=True, exist_ok=True)
            weights = transformer.save(args.output / WEIGHTS_FILE)
            snapshots = {str(step): (transformer.at_step(step).save(
                             args.output / f"step-{step}" / WEIGHTS_FILE).relative_to(args.output).as_posix())
                         for step in sorted(transformer.snapshots_)}
            config = {
                "command": "skseqclr pretrain", "argv": sys.argv[1:] if args.argv is None else args.argv,
                "weights": WEIGHTS_FILE, "datasets": described, "window_s": args.window_s, "sfreq": args.sfreq,
                "seqclr_params": _jsonable({key: value for key, value in transformer.get_params().items()
                                            if key not in OPTION_CLASSES}),
                "n_steps": int(transformer.n_steps_),
                "interrupted": bool(transformer.interrupted_), "resumed_from_step": resumed_from,
                "snapshots": snapshots,
                "history": transformer.history_,
                "pretrain_time_s": elapsed, "world_size": D.world_size(), "versions": _versions(),
            }
            _write_json(args.output / CONFIG_FILE, config)
            final = f", final loss {transformer.history_[-1]['loss']:.3f}" if transformer.history_ else ""
            kept = f" and the snapshots after {', '.join(snapshots)} steps (step-N/)" if snapshots else ""
            _say(args, f"Pretrained {transformer.n_steps_} steps in {elapsed:.0f} s{final}.",
                 f"Wrote {weights}{kept} and {args.output / CONFIG_FILE}")
        D.barrier()
        return EXIT_OK
    finally:
        if initialised_here and dist.is_initialized():
            dist.destroy_process_group()
