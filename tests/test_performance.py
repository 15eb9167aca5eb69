"""Performance properties that are not timings: the training step never makes the host wait.

On a GPU, reading a tensor's value on the host (``.item()``, ``float()``,
``bool()``) or an operator with a data-dependent output shape (``nonzero``,
boolean-mask indexing, ...) stalls the host until the device has caught up.
These tests watch every ATen call of a real ``fit`` (on the CPU, where the
same operators are dispatched) and check that their number does not grow with
the number of training steps. ``benchmarks/speed/check_sync.py`` prints the same
counts, and on CUDA also the CUDA runtime's own report.
"""

from __future__ import annotations

import collections
import traceback

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from skseqclr import SeqCLRTransformer
from skseqclr.training.pretrainer import Pretrainer

SYNCING = {"_local_scalar_dense", "nonzero", "masked_select", "unique", "_unique", "_unique2",
           "unique_consecutive", "unique_dim", "is_nonzero", "equal", "allclose", "repeat_interleave"}


class _SyncingOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.counts = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._overloadpacket.__name__
        if name in SYNCING and not (name == "_local_scalar_dense" and _optimizer_step_counter()):
            self.counts[name] += 1
        if name in ("index", "index_put", "index_put_") and any(
                isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in (args[1] or [])):
            self.counts[f"{name} with a boolean mask"] += 1
        return func(*args, **(kwargs or {}))


def _optimizer_step_counter():
    # torch.optim keeps step counters on the host (capturable=False) on every device: no sync.
    return any(f.name == "_get_value" and "torch/optim/" in f.filename.replace("\\", "/")
               for f in traceback.extract_stack(limit=12))


@pytest.fixture(autouse=True)
def gpu_code_path(monkeypatch):
    """Watch the loop as it runs on a GPU: there the loss's finiteness is read only at the sync points it
    already has (on the CPU, where reading it costs nothing, it is read every step)."""
    monkeypatch.setattr(Pretrainer, "check_each_step", False)


def _syncing_ops_of_fit(tiny, X, max_steps, **params):
    estimator = SeqCLRTransformer(**tiny, sfreq=128, n_epochs=1, max_steps=max_steps, batch_size=16,
                                  random_state=0, **params)
    with _SyncingOps() as mode:
        estimator.fit(X)
    return mode.counts


def test_training_steps_do_not_synchronise(tiny):
    X = (20.0 * np.random.default_rng(0).standard_normal((32, 4, 256))).astype(np.float32)
    _syncing_ops_of_fit(tiny, X, 1)  # lazy one-off initialisations are not per-step costs
    two = _syncing_ops_of_fit(tiny, X, 2)
    five = _syncing_ops_of_fit(tiny, X, 5)
    assert five == two, f"syncing operators grow with the steps: {dict(two)} in 2 steps, {dict(five)} in 5"


def test_watcher_sees_a_per_step_item(tiny, monkeypatch):
    """The check would catch a loss read per step (what the loop must not do)."""
    import skseqclr.training.pretrainer as training

    original = training.Pretrainer._train_step

    def reading_step(self, *batch):
        loss = original(self, *batch)
        float(loss)
        return loss

    monkeypatch.setattr(training.Pretrainer, "_train_step", reading_step)
    X = (20.0 * np.random.default_rng(0).standard_normal((32, 4, 256))).astype(np.float32)
    two = _syncing_ops_of_fit(tiny, X, 2)
    five = _syncing_ops_of_fit(tiny, X, 5)
    assert five["_local_scalar_dense"] - two["_local_scalar_dense"] == 3


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@needs_cuda
def test_cuda_training_steps_do_not_synchronise(tiny):
    """The CUDA runtime's own report: synchronisations do not grow with the steps."""
    import warnings

    X = (20.0 * np.random.default_rng(0).standard_normal((32, 4, 256))).astype(np.float32)

    def syncs(max_steps):
        estimator = SeqCLRTransformer(**tiny, sfreq=128, n_epochs=1, max_steps=max_steps, batch_size=16,
                                      device="cuda", random_state=0)
        torch.cuda.set_sync_debug_mode("warn")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                estimator.fit(X)
        finally:
            torch.cuda.set_sync_debug_mode("default")
        return sum("synchroniz" in str(w.message) for w in caught)

    syncs(1)
    assert syncs(5) == syncs(2)


@needs_cuda
def test_cuda_features_match_cpu(tiny):
    """The same (untrained) weights give the same features on CUDA and on the CPU."""
    X = (20.0 * np.random.default_rng(0).standard_normal((4, 3, 256))).astype(np.float32)
    features = {}
    for device in ("cpu", "cuda"):
        estimator = SeqCLRTransformer(**tiny, sfreq=128, max_steps=0, device=device, precision="fp32",
                                      random_state=0).fit(X)
        features[device] = estimator.transform(X)
    # cuDNN may use TF32 for convolutions: agreement to about 1e-3, not bit for bit.
    np.testing.assert_allclose(features["cuda"], features["cpu"], rtol=1e-2, atol=1e-2)


@needs_cuda
def test_fft_convolution_on_cuda_matches_direct():
    from skseqclr.nn.fft_conv import fft_conv1d

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(4, 32, 500, generator=generator).cuda()
    w = torch.randn(16, 32, 64, generator=generator).cuda()
    b = torch.randn(16, generator=generator).cuda()
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        expected = torch.nn.functional.conv1d(x, w, b)
    got = fft_conv1d(x, w, b)
    assert (got - expected).abs().max() <= 1e-4 * expected.abs().max()
