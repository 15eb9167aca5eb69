"""Shared fixtures: tiny model configurations and the shared EEG recordings."""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

# braindecode and MNE emit FutureWarnings at import time that are not ours.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"braindecode\..*")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SKSEQCLR_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))

#: Encoder and projector sizes small enough for a training step in milliseconds.
TINY_ENCODER = dict(branch_kernels=(8, 4, 2), branch_channels=(4, 4, 2), n_residual=1, residual_kernel=4,
                    output_kernel=4)
TINY_PROJECTOR = dict(lstm_sizes=(8, 4, 2), hidden_size=16, output_size=16)
TINY = dict(model_size=dict(preset="small", **TINY_ENCODER, **TINY_PROJECTOR))


# The tests' models are tiny: one thread is faster than two for them (no spin-up or
# contention between threads) and makes CPU results bit-reproducible across processes.
torch.set_num_threads(1)


@pytest.fixture
def tiny():
    """Keyword arguments for a SeqCLRTransformer with a tiny conv encoder."""
    return dict(TINY)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


#: The test being run (set by the autouse fixture below), so that shared_path can check its markers.
_RUNNING = {}


def _missing_shared_data(path: Path) -> str:
    return f"shared EEG data not found at {path} (set SKSEQCLR_SHARED_DATA or place ../shared/data)"


def pytest_runtest_setup(item):
    """Skip a test marked ``shared_data`` before any fixture of it runs when ../shared/data is absent."""
    if item.get_closest_marker("shared_data") is not None and not SHARED_DATA.is_dir():
        pytest.skip(_missing_shared_data(SHARED_DATA))


@pytest.fixture(autouse=True)
def _running_test(request):
    _RUNNING["node"] = request.node
    yield
    _RUNNING.pop("node", None)


def shared_path(*parts) -> Path:
    """Path under ../shared/data, or skip the test with the reason.

    Only for tests marked ``@pytest.mark.shared_data`` (``-m "not shared_data"`` deselects them): a test that
    reads the shared data without the marker fails, so the marker always says what a test needs.
    """
    node = _RUNNING.get("node")
    if node is not None and node.get_closest_marker("shared_data") is None:
        pytest.fail(f"{node.nodeid} reads ../shared/data (shared_path) but is not marked @pytest.mark.shared_data",
                    pytrace=False)
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(_missing_shared_data(path))
    return path


def load_benchmark(name):
    """The module of ``benchmarks/<name>.py``, e.g. ``"experiments/label_efficiency"`` (the benchmarks are
    scripts, not a package)."""
    path = REPO_ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
