"""SeqCLR pretraining under torch.distributed: CPU, Gloo, two processes on this machine.

The two-process checks share one spawned group (starting processes dominates
their cost); the end-to-end ``torchrun`` run is marked slow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import TINY, TINY_ENCODER, TINY_PROJECTOR
from torch import nn

from skseqclr import Checkpointing, SeqCLRTransformer
from skseqclr.training import distributed as D
from skseqclr.training.checkpoint import CHECKPOINT_NAME, load_checkpoint
from skseqclr.nn.encoders import make_encoder
from skseqclr.nn.heads import Projector
from skseqclr.inputs import as_window_source
from skseqclr.training.loading import plan_epoch
from skseqclr.nn.losses import nt_xent
from skseqclr.training.pretrainer import SeqCLRNetwork

WORLD_SIZE = 2
LOCAL_BATCH = 6  # single channels per rank; the combined batch has 12
N_TIMES = 64
SFREQ = 128.0
TINY_RECURRENT = dict(gru_sizes=(4, 4, 4), dense_size=8, n_residual=1)
TEMPERATURE = 0.1
# 24 windows: 12 per rank, 2 windows (8 channels) per step -> 6 steps per epoch per rank
FIT = dict(TINY, sfreq=SFREQ, n_epochs=1, batch_size=8, precision="fp32", device="cpu")


def _network(kind: str) -> SeqCLRNetwork:
    """The same tiny network in every process (seeded initialisation)."""
    torch.manual_seed(0)
    if kind == "conv":  # has BatchNorm
        encoder = make_encoder("conv", "small", **TINY_ENCODER)
    else:  # LayerNorm and GRUs only: nothing depends on the batch
        encoder = make_encoder("recurrent", "small", **TINY_RECURRENT)
    return SeqCLRNetwork(encoder, Projector(encoder.n_outputs, **TINY_PROJECTOR))


def _global_views():
    """Two views of the combined batch of WORLD_SIZE * LOCAL_BATCH channels."""
    generator = torch.Generator().manual_seed(1)
    n = WORLD_SIZE * LOCAL_BATCH
    view_a = torch.randn(n, N_TIMES, generator=generator)
    view_b = view_a + 0.3 * torch.randn(n, N_TIMES, generator=generator)
    return view_a, view_b


def _windows():
    return np.random.default_rng(0).normal(scale=20.0, size=(24, 3, 256)).astype(np.float32)


def _flat_weights(estimator) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in
                      list(estimator.encoder_.parameters()) + list(estimator.projector_.parameters())])


# ---------------------------------------------------------------------------
# What each of the two spawned processes runs
# ---------------------------------------------------------------------------
def _one_ddp_step(kind, rank):
    network = _network(kind)
    network.train()
    model = nn.parallel.DistributedDataParallel(network)
    view_a, view_b = _global_views()
    mine = slice(rank * LOCAL_BATCH, (rank + 1) * LOCAL_BATCH)
    z_a, z_b = model(torch.cat([view_a[mine], view_b[mine]])).chunk(2)
    loss = nt_xent(z_a, z_b, TEMPERATURE, gather_distributed=True)
    without_gather = nt_xent(z_a, z_b, TEMPERATURE, gather_distributed=False)
    loss.backward()
    return {"loss": loss.detach(), "loss_without_gather": without_gather.detach(),
            "grads": {name: p.grad.clone() for name, p in network.named_parameters()}}


def _stop_decisions(rank, lagged):
    agreement = D.StopAgreement("cpu", lagged=lagged)
    # rank 1 alone is asked to stop at call 2 (and keeps asking, like the Ctrl-C flag)
    return [agreement(rank == 1 and call >= 2) for call in range(5)]


def _fit(rank, out_dir, **params):
    """Fit on all ranks, recording the planned batches and the warnings."""
    import skseqclr.training.pretrainer as training

    planned = []
    original_plan = training.plan_epoch

    def recording_plan(*args, **kwargs):
        batches = original_plan(*args, **kwargs)
        planned.append({"rank": kwargs["rank"], "world_size": kwargs["world_size"],
                        "windows": np.concatenate([b[1] for b in batches]).tolist()})
        return batches

    training.plan_epoch = recording_plan
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            estimator = SeqCLRTransformer(**FIT, **params).fit(_windows())
    finally:
        training.plan_epoch = original_plan
    return {"n_steps": estimator.n_steps_, "history": [{k: v for k, v in h.items() if k != "time_s"}
                                                       for h in estimator.history_],
            "interrupted": estimator.interrupted_, "input_scale": estimator.input_scale_,
            "weights": _flat_weights(estimator), "planned": planned,
            "warnings": [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]}


def _interrupt_on_rank_1_at_step(step):
    """Make rank 1 receive Ctrl-C (SIGINT) during its step number ``step`` (0-based)."""
    from skseqclr.training.pretrainer import Pretrainer

    original = Pretrainer._train_step

    def train_step(self, *batch):
        if self.rank == 1 and self.step == step:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, *batch)

    Pretrainer._train_step = train_step
    return lambda: setattr(Pretrainer, "_train_step", original)


def _two_rank_worker(rank, store, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD_SIZE,
                            timeout=timedelta(seconds=120))
    try:
        results = {kind: _one_ddp_step(kind, rank) for kind in ("conv", "recurrent")}
        results["stop"] = _stop_decisions(rank, lagged=False)
        results["stop_lagged"] = _stop_decisions(rank, lagged=True)
        results["shared_seed"] = _fit(rank, out_dir, random_state=None, max_steps=1)
        results["uninterrupted"] = _fit(rank, out_dir, random_state=0)
        undo = _interrupt_on_rank_1_at_step(2)
        try:
            results["interrupted"] = _fit(rank, out_dir, random_state=0,
                                          checkpointing=Checkpointing(directory=str(out_dir / "ckpt")))
        finally:
            undo()
        dist.barrier()  # rank 0 wrote the checkpoint
        results["checkpoint"] = load_checkpoint(out_dir / "ckpt" / CHECKPOINT_NAME)
        results["resumed"] = _fit(rank, out_dir, random_state=0,
                                  checkpointing=Checkpointing(directory=str(out_dir / "ckpt"), resume=True))
        torch.save(results, out_dir / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """Results of both ranks of one spawned Gloo group (see ``_two_rank_worker``)."""
    out_dir = tmp_path_factory.mktemp("two_ranks")
    context = mp.start_processes(_two_rank_worker, args=(str(out_dir / "store"), out_dir), nprocs=WORLD_SIZE,
                                 join=False, start_method="spawn")
    deadline = time.monotonic() + 300
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("the two ranks did not finish within 300 s (a rank waiting on the other?)")
    return [torch.load(out_dir / f"rank{r}.pt", weights_only=False) for r in range(WORLD_SIZE)]


def _single_process_step(kind):
    """One process on the combined batch (the conv network's BatchNorm per rank's half, as under Gloo)."""
    network = _network(kind)
    network.train()
    view_a, view_b = _global_views()
    if kind == "recurrent":
        z_a, z_b = network(torch.cat([view_a, view_b])).chunk(2)
    else:
        halves = [slice(r * LOCAL_BATCH, (r + 1) * LOCAL_BATCH) for r in range(WORLD_SIZE)]
        z = [network(torch.cat([view_a[h], view_b[h]])).chunk(2) for h in halves]
        z_a, z_b = torch.cat([a for a, _ in z]), torch.cat([b for _, b in z])
    loss = nt_xent(z_a, z_b, TEMPERATURE)
    loss.backward()
    return loss.detach(), {name: p.grad for name, p in network.named_parameters()}


# ---------------------------------------------------------------------------
# Two ranks vs one process
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["recurrent", "conv"])
@pytest.mark.slow
def test_two_ranks_match_one_process_on_the_combined_batch(two_ranks, kind):
    loss, grads = _single_process_step(kind)
    rank_losses = torch.stack([r[kind]["loss"] for r in two_ranks])
    # each rank's loss is the mean over its own views; their mean is the global mean
    torch.testing.assert_close(rank_losses.mean(), loss, rtol=1e-5, atol=1e-6)
    # negatives from the other rank matter: without the all-gather the loss is another number
    assert all(abs(float(r[kind]["loss_without_gather"]) - float(loss)) > 0.1 for r in two_ranks)
    for rank_result in two_ranks:
        assert rank_result[kind]["grads"].keys() == grads.keys()
        for name, grad in grads.items():
            assert grad.abs().max() > 0, name
            torch.testing.assert_close(rank_result[kind]["grads"][name], grad, rtol=1e-4, atol=1e-6,
                                       msg=lambda m, name=name: f"{kind} {name}: {m}")


@pytest.mark.slow
def test_all_ranks_stop_at_the_same_step(two_ranks):
    # rank 1 asked at call 2: both ranks stop after call 2 (after call 3 when lagged)
    assert [r["stop"] for r in two_ranks] == [[False, False, True, True, True]] * 2
    assert [r["stop_lagged"] for r in two_ranks] == [[False, False, False, True, True]] * 2


@pytest.mark.slow
def test_each_rank_trains_on_its_own_shard(two_ranks):
    planned = [r["uninterrupted"]["planned"] for r in two_ranks]
    assert [p[0]["rank"] for p in planned] == [0, 1]
    assert all(p["world_size"] == WORLD_SIZE for ranks in planned for p in ranks)
    shards = [set(ranks[0]["windows"]) for ranks in planned]
    assert len(shards[0]) == len(shards[1]) == 12
    assert shards[0].isdisjoint(shards[1]) and shards[0] | shards[1] == set(range(24))


@pytest.mark.slow
def test_ranks_share_the_seed_of_random_state_none(two_ranks):
    first, second = (r["shared_seed"] for r in two_ranks)
    assert first["input_scale"] == second["input_scale"]
    assert set(first["planned"][0]["windows"]).isdisjoint(second["planned"][0]["windows"])


@pytest.mark.slow
def test_ranks_run_the_same_steps_and_average_the_loss(two_ranks):
    first, second = (r["uninterrupted"] for r in two_ranks)
    assert first["n_steps"] == second["n_steps"] == 6  # 12 windows per rank, 2 per step
    assert first["history"] == second["history"]  # the mean over ranks, identical on both
    assert first["history"][0]["steps"] == 6
    assert torch.equal(first["weights"], second["weights"])


@pytest.mark.slow
def test_ctrl_c_on_one_rank_stops_all_ranks_after_the_same_step(two_ranks):
    first, second = (r["interrupted"] for r in two_ranks)
    assert first["interrupted"] and second["interrupted"]
    assert first["n_steps"] == second["n_steps"] == 3
    assert torch.equal(first["weights"], second["weights"])
    assert not torch.equal(first["weights"], two_ranks[0]["uninterrupted"]["weights"])
    # rank 0 alone says so
    assert any("interrupted by Ctrl-C after step 3 of 6" in w for w in first["warnings"])
    assert not any("interrupted" in w for w in second["warnings"])


@pytest.mark.slow
def test_checkpoint_holds_every_ranks_random_state(two_ranks):
    state = two_ranks[0]["checkpoint"]
    assert state["world_size"] == WORLD_SIZE and state["step"] == 3
    generators = [s["generator"] for s in state["rank_states"]]
    assert len(generators) == WORLD_SIZE and not torch.equal(generators[0], generators[1])


@pytest.mark.slow
def test_resumed_two_rank_run_equals_the_uninterrupted_one(two_ranks):
    for rank_result in two_ranks:
        resumed, uninterrupted = rank_result["resumed"], rank_result["uninterrupted"]
        assert resumed["n_steps"] == 6 and not resumed["interrupted"]
        assert torch.equal(resumed["weights"], uninterrupted["weights"])
        assert resumed["history"] == uninterrupted["history"]


# ---------------------------------------------------------------------------
# Single-process pieces
# ---------------------------------------------------------------------------
def test_plan_epoch_gives_disjoint_shards_of_equal_length():
    sources = [as_window_source(np.zeros((23, 2, 32), np.float32)), as_window_source(np.zeros((10, 3, 32), np.float32))]
    for world_size in (2, 3, 4):
        plans = [plan_epoch(sources, 2, seed=5, epoch=1, rank=r, world_size=world_size) for r in range(world_size)]
        assert len({len(p) for p in plans}) == 1  # every rank runs the same number of steps
        # batch i comes from the same source on every rank
        assert len({tuple(b[0] for b in p) for p in plans}) == 1
        for source_index, source in enumerate(sources):
            windows = [np.concatenate([b[1] for b in p if b[0] == source_index]) for p in plans]
            shard = source.n_windows // world_size
            assert [len(w) for w in windows] == [max(shard // 2 * 2, min(shard, 2))] * world_size
            union = np.concatenate(windows)
            assert len(union) == len(set(union.tolist()))  # disjoint


def test_helpers_without_a_process_group(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert not D.launched_by_torchrun() and not D.init_from_env()
    assert not D.is_distributed() and D.rank() == 0 and D.world_size() == 1 and D.is_main_process()
    assert D.broadcast_object(7) == 7 and D.all_gather_object("x") == ["x"]
    assert D.StopAgreement("cpu")(True) is True and D.StopAgreement("cpu")(False) is False
    value = torch.tensor(3.0)
    assert D.all_reduce_mean(value) is value
    assert D.local_device("cpu") == torch.device("cpu")


def test_synchronize_batchnorm_swaps_and_restores_the_layers():
    network = _network("conv")
    names = [n for n, m in network.named_modules() if isinstance(m, nn.BatchNorm1d)]
    assert names
    keys = list(network.state_dict())
    x = torch.randn(4, N_TIMES)
    undo = D.synchronize_batchnorm(network)
    assert all(isinstance(network.get_submodule(n), nn.SyncBatchNorm) for n in names)
    assert list(network.state_dict()) == keys  # checkpoints do not see the swap
    with torch.no_grad():
        network.get_submodule(names[0]).running_mean.add_(1.0)
        network.get_submodule(names[0]).weight.mul_(2.0)
    trained = {k: v.clone() for k, v in network.state_dict().items()}
    undo()
    assert all(type(network.get_submodule(n)) is nn.BatchNorm1d for n in names)
    for key, value in network.state_dict().items():
        assert torch.equal(value, trained[key]), key
    network.eval()
    assert network(x).shape == (4, TINY_PROJECTOR["output_size"])


# ---------------------------------------------------------------------------
# torchrun end to end
# ---------------------------------------------------------------------------
TORCHRUN_SCRIPT = """
import json, sys
import numpy as np
import torch
sys.path.insert(0, {tests!r})
from conftest import TINY
from skseqclr import Checkpointing, SeqCLRTransformer
from skseqclr.training import distributed as D

out = {out!r}
torch.set_num_threads(1)
X = np.random.default_rng(0).normal(scale=20.0, size=(32, 3, 256)).astype(np.float32)
estimator = SeqCLRTransformer(**TINY, sfreq=128, n_epochs=1, batch_size=8, device="cpu",
                              random_state=0, checkpointing=Checkpointing(directory=out + "/ckpt")).fit(X)
weights = torch.cat([p.detach().flatten() for p in estimator.encoder_.parameters()])
json.dump({{"rank": D.rank(), "world_size": D.world_size(), "n_steps": estimator.n_steps_,
           "loss": [h["loss"] for h in estimator.history_], "weights": weights.tolist()}},
          open(f"{{out}}/rank{{D.rank()}}.json", "w"))
if D.is_main_process():
    estimator.save(out + "/encoder.safetensors")
    np.save(out + "/features.npy", estimator.transform(X[:5]))
"""


@pytest.mark.slow
def test_torchrun_pretraining_end_to_end(tmp_path):
    script = tmp_path / "pretrain.py"
    script.write_text(TORCHRUN_SCRIPT.format(tests=str(Path(__file__).parent), out=str(tmp_path)))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(script)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["rank"] for r in ranks] == [0, 1] and all(r["world_size"] == 2 for r in ranks)
    assert ranks[0]["n_steps"] == ranks[1]["n_steps"] == 8  # 16 windows per rank, 2 per step
    assert ranks[0]["loss"] == ranks[1]["loss"] and ranks[0]["weights"] == ranks[1]["weights"]
    assert load_checkpoint(tmp_path / "ckpt" / CHECKPOINT_NAME)["step"] == 8

    # the cluster's weights on a laptop: load them and transform in this (non-distributed) process
    estimator = SeqCLRTransformer.load(tmp_path / "encoder.safetensors", device="cpu")
    assert estimator.n_steps_ == 8
    X = np.random.default_rng(0).normal(scale=20.0, size=(32, 3, 256)).astype(np.float32)
    features = estimator.transform(X[:5])
    np.testing.assert_allclose(features, np.load(tmp_path / "features.npy"), rtol=1e-5, atol=1e-6)
    assert np.isfinite(features).all() and features.shape == (5, estimator.n_features_out_)
