"""The Results page's renderer (docs/render_results.py) turns benchmark JSON into the expected tables."""

import importlib.util
import json
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def render():
    spec = importlib.util.spec_from_file_location("render_results", DOCS / "render_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(method, normalization, fraction, seed, score, n_labels, draws=1):
    return {"method": method, "normalization": normalization, "fraction": fraction, "seed": seed,
            "n_labels": n_labels, "balanced_accuracy": score, "n_label_draws": draws, "probe_C": 0.01}


def _result():
    """Two methods, two seeds, both settings, 100% and 10% of 200 labels."""
    rows = []
    scores = {  # (method, normalization, fraction): (seed 0, seed 1)
        ("SeqCLR pretrained", "none", 1.0): (0.70, 0.80),
        ("SeqCLR pretrained", "none", 0.1): (0.60, 0.60),
        ("log-power", "none", 1.0): (0.72, 0.72),
        ("log-power", "none", 0.1): (0.65, 0.59),
        ("SeqCLR pretrained", "group", 1.0): (0.90, 0.80),
        ("SeqCLR pretrained", "group", 0.1): (0.70, 0.80),
        ("log-power", "group", 1.0): (0.81, 0.83),
    }
    for (method, normalization, fraction), pair in scores.items():
        for seed, score in enumerate(pair):
            rows.append(_row(method, normalization, fraction, seed, score, round(200 * fraction), draws=10))
    return {"command": "skseqclr benchmark", "argv": ["benchmark", "--seeds", "0", "1"],
            "data": "toy: 4 subjects", "n_train": 200, "n_test": 100, "rows": rows,
            "seqclr_params": {"encoder": "conv", "model_size": "small"},
            "versions": {"skseqclr": "0.1.0"}, "wall_time_s": 12.3}


def test_table_rows_mean_std_over_seeds_best_in_bold(render):
    assert render.table_rows(_result()) == [
        ["method", "100% (n=200, 10 draws)", "10% (n=20, 10 draws)"],
        ["**features as they are (inductive)**", "", ""],
        ["SeqCLR pretrained", "**0.750 ± 0.050**", "0.600 ± 0.000"],
        ["log-power", "0.720 ± 0.000", "**0.620 ± 0.030**"],
        ["**standardised per subject (transductive)**", "", ""],
        ["SeqCLR pretrained", "**0.850 ± 0.050**", "**0.750 ± 0.050**"],
        ["log-power", "0.820 ± 0.010", "-"],
    ]


def test_table_rows_select_methods_and_settings(render):
    rows = render.table_rows(_result(), methods=["log-power"], settings=["group"])
    assert rows == [
        ["method", "100% (n=200, 10 draws)", "10% (n=20, 10 draws)"],
        ["**standardised per subject (transductive)**", "", ""],
        ["log-power", "0.820 ± 0.010", "-"],  # one method: nothing to bold
    ]


def test_one_seed_reads_mean_alone(render):
    result = _result()
    result["rows"] = [r for r in result["rows"] if r["seed"] == 0]
    assert render.table_rows(result, settings=["none"], bold_best=False)[2] == ["SeqCLR pretrained", "0.700", "0.600"]


def test_compact_methods_are_the_seqclr_rows_and_the_strongest_control(render):
    result = _result()
    for row in [r for r in result["rows"] if r["method"] == "SeqCLR pretrained"]:
        result["rows"].append({**row, "method": "SeqCLR untrained", "balanced_accuracy": 0.5})
    with pytest.raises(ValueError, match="strongest_control"):
        render.compact_methods(result)
    result["strongest_control"] = {"method": "log-power", "chosen_by": "cross-validated score"}
    assert render.compact_methods(result) == ["SeqCLR pretrained", "SeqCLR untrained", "log-power"]


def test_render_table_is_a_list_table(render):
    lines = render.render_table(_result(), methods=["SeqCLR pretrained"], settings=["none"])
    assert lines[0] == ".. list-table::"
    assert "   * - method" in lines and "     - 100% (n=200, 10 draws)" in lines
    assert "   * - SeqCLR pretrained" in lines and "     - 0.750 ± 0.050" in lines
    assert "     -" in lines  # the heading row's empty cells
    missing = render.render_table(_result(), methods=["log-power"], settings=["group"])
    assert "     - \\-" in missing  # escaped: a lone "-" would start a nested list


def test_render_setup_fields(render):
    text = "\n".join(render.render_setup(_result()))
    assert ":Command: ``skseqclr benchmark --seeds 0 1``" in text
    assert ":Seeds: 0, 1; 10 labelled subsets per seed" in text
    assert ":Wall time: 12 s" in text


@pytest.mark.parametrize("content, word", [
    ("not json", "JSON"),
    (json.dumps({"rows": []}), "rows"),
    (json.dumps([1, 2]), "rows"),
    (json.dumps({"rows": [{"method": "m", "fraction": 1.0, "seed": 0}]}), "balanced_accuracy"),
])
def test_load_result_rejects_bad_files(render, tmp_path, content, word):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=word):
        render.load_result(path)


@pytest.mark.parametrize("kwargs, word", [
    ({"methods": ["SeqCLR untrained"]}, "SeqCLR untrained"),
    ({"settings": ["window"]}, "window"),
])
def test_unknown_method_or_setting_is_an_error(render, kwargs, word):
    with pytest.raises(ValueError, match=word):
        render.table_rows(_result(), **kwargs)


def test_committed_results_render(render):
    """Every committed result file renders, in both settings, and the Results page shows it."""
    paths = sorted((DOCS / "results").glob("*.json"))
    page = (DOCS / "results.rst").read_text()
    for path in paths:
        result = render.load_result(path)
        rows = render.table_rows(result)
        assert rows[0][0] == "method" and len(rows) > 3
        assert f"results/{path.name}" in page


def test_setup_of_a_combined_suite_report_names_its_parts(render):
    part = {"argv": ["suite", "--data-dir", "d", "--tasks", "eegmat", "--seeds", "0", "--threads", "1",
                     "--output", "eegmat_s0.json"], "wall_time_s": 100.0}
    text = render._parts_text([part, {**part, "wall_time_s": 50.0}])
    assert text == ("2 runs of ``skseqclr suite --data-dir d --tasks T --seeds S --threads 1 --output T_S.json``, "
                    "one per task and seed, joined by ``skseqclr suite --combine``")
    result = {"command": "skseqclr suite", "argv": ["suite", "--combine", "a.json", "b.json"],
              "combined_from": [part, part], "wall_time_s": 150.0,
              "rows": [{"seed": 0, "n_label_draws": 1}]}
    fields = "\n".join(render.render_setup(result))
    assert ":Parts: 2 runs of" in fields and ":Wall time: 150 s, the sum of the 2 parts' times" in fields
