"""benchmarks/experiments/_runner.py: every experiment takes the shared options through it, ``--quick`` gives way
to options given explicitly, the JSON report says how its rows were made, ``--combine`` reprints them, and the
benchmarks import only public names of skseqclr."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from conftest import REPO_ROOT, load_benchmark

EXPERIMENTS = ("label_efficiency", "feature_channels", "feature_reference", "motor_imagery", "subject_adversary",
               "time_scales")
SHARED_OPTIONS = ("--data-dir", "--seeds", "--fractions", "--label-draws", "--normalization", "--probe-c",
                  "--probe-selection", "--threads", "--jobs", "--output", "--combine", "--quick")


@pytest.fixture(scope="module")
def runner():
    return load_benchmark("experiments/_runner")


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_takes_the_shared_options(name):
    parser = load_benchmark(f"experiments/{name}").build_parser()
    options = {option for action in parser._actions for option in action.option_strings}
    assert set(SHARED_OPTIONS) <= options


@pytest.mark.parametrize("name, option", [("feature_channels", "--load-dir"), ("time_scales", "--load-dir"),
                                          ("feature_reference", "--load-features")])
def test_experiments_on_stored_encoders_say_what_they_need_before_loading(name, option):
    with pytest.raises(SystemExit, match=f"{option} is needed"):
        load_benchmark(f"experiments/{name}").main(["--data-dir", "/nonexistent/eeg"])


def test_quick_defaults_give_way_to_options_given(runner):
    parser = runner.make_parser("doc", pretrains=True, quick={"label_draws": 3})
    plain = runner.parse_args(parser, [])
    assert (plain.seeds, plain.fractions, plain.steps, plain.param) == ([0, 1, 2], [1.0, 0.1, 0.01], 300, [])
    quick = runner.parse_args(parser, ["--quick", "--seeds", "4", "--fractions", "0.5", "1"])
    assert quick.seeds == [4] and quick.fractions == [0.5, 1.0] and quick.normalization == ["none"]
    assert quick.steps == 2 and quick.label_draws == 3  # the experiment's own quick default
    assert runner.seqclr_params(quick, lr=0.1) == {"lr": 0.1, "model_size": "small"}
    assert runner.seqclr_params(plain, lr=0.1) == {"lr": 0.1}
    paper = runner.parse_args(parser, ["--quick", "--param", "model_size=paper", "--param", "lr=0.2"])
    assert runner.seqclr_params(paper, lr=0.1) == {"lr": 0.2, "model_size": "paper"}  # --param wins


def test_report_says_how_the_rows_were_made_and_combine_reprints_them(runner, tmp_path, capsys):
    rows = [{"method": "m", "normalization": "none", "fraction": 1.0, "seed": seed, "n_labels": 10,
             "balanced_accuracy": score, "fit_time_s": 1.0, "transform_time_s": 0.0, "probe_time_s": 0.0}
            for seed, score in ((0, 0.6), (1, 0.8))]
    checked = []
    output = tmp_path / "rows.json"
    argv = ["--seeds", "0", "1", "--output", str(output)]
    returned = runner.run(runner.make_parser("doc", data="eegbci"), argv, lambda args, data: (rows, {"lr": 0.1}),
                          load=lambda args: "data", check=checked.append)
    assert returned == rows and checked[0].seeds == [0, 1]
    report = json.loads(output.read_text())
    assert report["rows"] == rows and report["seqclr_params"] == {"lr": 0.1} and report["argv"] == argv
    assert report["command"].startswith("python tests/test_bench_runner.py --seeds 0 1 --output ")
    assert {"python", "skseqclr", "torch", "numpy", "scikit-learn"} <= set(report["versions"])
    assert report["wall_time_s"] >= 0 and report["machine"]["cpu_count"] >= 1 and report["args"]["jobs"] == "1"
    capsys.readouterr()

    def fail(args, data):
        raise AssertionError("--combine computes nothing")

    assert runner.run(runner.make_parser("doc", data="eegbci"), ["--combine", str(output)], fail) is None
    assert "0.700 ± 0.100" in capsys.readouterr().out  # both seeds, mean ± std


def _private(part):
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _private_uses(source):
    """``skseqclr`` names a script imports or reaches whose path has a private part (``_name``, not ``__file__``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "skseqclr":
            found += [f"{node.module}.{alias.name}" for alias in node.names
                      if any(map(_private, [*node.module.split("."), alias.name]))]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] == "skseqclr"
                      and any(map(_private, alias.name.split(".")))]
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            dotted, base = [node.attr], node.value
            while isinstance(base, ast.Attribute):
                dotted.insert(0, base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id == "skseqclr":
                found.append(".".join(["skseqclr", *dotted]))
    return found


def test_private_uses_are_found():
    source = ("from skseqclr.cli import _param\nfrom skseqclr._units import x\nimport skseqclr._version\n"
              "import skseqclr.transformer\nskseqclr.transformer._check\nfrom skseqclr import SeqCLRTransformer\n"
              "skseqclr.__file__\n")
    assert _private_uses(source) == ["skseqclr.cli._param", "skseqclr._units.x", "skseqclr._version",
                                     "skseqclr.transformer._check"]


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "benchmarks").rglob("*.py")),
                         ids=lambda path: str(path.relative_to(REPO_ROOT / "benchmarks")))
def test_benchmarks_use_public_names_only(path: Path):
    assert _private_uses(path.read_text()) == []
