"""Subject-adversarial SeqCLR pretraining on EEGMAT (issue 8's last open lever), for the benchmark page.

Does making the encoder's features subject-invariant help a probe on new subjects? During pretraining an
adversary (a small MLP) reads what the probe reads for one channel, the mean, standard deviation and
log-mean-square over time of the encoder's feature channels, and predicts the window's subject (EEGMAT's 24
training subjects); its gradient reaches the encoder reversed and scaled by ``--weight`` (gradient reversal,
Ganin & Lempitsky 2015). ``--weight 0`` trains the adversary without touching the encoder: the package's own
pretraining (same random streams), with the adversary only reporting how decodable the subject is.

Not a package option (yet): the training step is the package's :class:`skseqclr.training.pretrainer.Pretrainer` with one
extra loss, patched in here. Every other setting is the benchmark page's Results configuration (small conv
encoder, 100 steps). The script pretrains and saves the encoders; score them with the page's protocol::

    python benchmarks/bench_subject_adversary.py --seeds 0 1 2 --weight 1 --save-dir adversarial/
    python benchmarks/bench_label_efficiency.py --seeds 0 1 2 --load-dir adversarial/ \\
        --label-draws 10 --methods probe

It prints the contrastive loss and the adversary's loss and accuracy every 10 steps (chance: 1/24).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from bench_label_efficiency import DEFAULT_DATA, load_eegmat
from torch import nn

import skseqclr.transformer
from skseqclr import SeqCLRTransformer
from skseqclr.training.pretrainer import Pretrainer, autocast

#: Torch seed of the adversary's initial weights (the same for every pretraining seed, as in the page's runs).
ADVERSARY_SEED = 1234


def pooled_statistics(features):
    """What the probe reads for one channel: mean, standard deviation and log-mean-square over time of each
    feature channel, ``(batch, 4, time)`` -> ``(batch, 12)``.

    The statistics of the transformer's default pooling (:func:`skseqclr.pooling.pool` with ``("mean", "std",
    "logms")``) written out here rather than called, because the page's runs used this form: unbiased standard
    deviation and the log floored at 1e-8, where ``pool`` divides by the length and adds 1e-6 inside the log,
    so calling it would change the adversary's input slightly and the runs would no longer be reproduced.
    """
    return torch.cat([features.mean(-1), features.std(-1), features.pow(2).mean(-1).clamp_min(1e-8).log()], 1)


class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight):
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.weight * grad, None


class SubjectAdversarialPretrainer(Pretrainer):
    """:class:`Pretrainer` plus a subject adversary on the pooled encoder output (set the class attributes first)."""

    window_subjects: np.ndarray | None = None  # subject code (0..n_subjects-1) of every training window
    n_subjects: int = 0
    weight: float = 1.0
    log: list = []

    def __post_init__(self):
        super().__post_init__()
        n_pooled = 3 * self.network.encoder.n_outputs
        with torch.random.fork_rng():
            torch.manual_seed(ADVERSARY_SEED)
            self.adversary = nn.Sequential(nn.Linear(n_pooled, 64), nn.ReLU(),
                                           nn.Linear(64, self.n_subjects)).to(self.device)
        self.adversary_optimizer = torch.optim.AdamW(self.adversary.parameters(), lr=self.lr)

    def _plan(self, epoch):
        # run() trains on the batches of the latest plan, in order: keep their window indices for the subjects
        plan = super()._plan(epoch)
        self._pending_batches = [indices for _, indices in plan]
        return plan

    def _train_step(self, windows_uv, source_index=0):
        indices = np.asarray(self._pending_batches.pop(0))
        view_a, view_b = self.views(windows_uv, self.generator, source_index)
        # the views' channels come window by window, channels_per_window from each (ContrastiveViews)
        subjects = torch.as_tensor(self.window_subjects[indices], device=self.device)
        subjects = subjects.repeat_interleave(self.views.channels_per_window)[: view_a.shape[0]].repeat(2)
        with autocast(self.device, self.precision):
            features = self.network.encoder(torch.cat([view_a, view_b], dim=0))
            projections = self.network.projector(features)
        z_a, z_b = projections.float().chunk(2, dim=0)
        contrastive = self.loss_fn(z_a, z_b)
        pooled = pooled_statistics(features.float())
        logits = self.adversary(_ReverseGradient.apply(pooled, self.weight))
        adversarial = nn.functional.cross_entropy(logits, subjects)
        self.optimizer.zero_grad(set_to_none=True)
        self.adversary_optimizer.zero_grad(set_to_none=True)
        (contrastive + adversarial).backward()
        self.optimizer.step()
        self.adversary_optimizer.step()
        self.scheduler.step()
        type(self).log.append({"step": self.step, "contrastive": float(contrastive.detach()),
                               "adversary_loss": float(adversarial.detach()),
                               "adversary_accuracy": float((logits.argmax(1) == subjects).float().mean())})
        return contrastive.detach()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--weight", type=float, default=1.0, help="gradient reversal weight (0: monitor only)")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--save-dir", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    X_train, _, _, _, groups_train, _ = load_eegmat(args.data_dir, 128.0, 4.0)
    subjects, codes = np.unique(groups_train, return_inverse=True)
    SubjectAdversarialPretrainer.window_subjects, SubjectAdversarialPretrainer.n_subjects = codes, len(subjects)
    SubjectAdversarialPretrainer.weight = args.weight
    skseqclr.transformer.Pretrainer = SubjectAdversarialPretrainer
    args.save_dir.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        SubjectAdversarialPretrainer.log = []
        cpu = time.process_time()
        model = SeqCLRTransformer(sfreq=128.0, n_epochs=10_000, max_steps=args.steps, units="uV",
                                  model_size="small", random_state=seed).fit(X_train)
        print(f"seed {seed}, weight {args.weight:g}: {model.n_steps_} steps, {time.process_time() - cpu:.0f} s CPU, "
              f"final NT-Xent loss {model.history_[-1]['loss']:.3f}", flush=True)
        log = SubjectAdversarialPretrainer.log
        for start in range(0, len(log), 10):
            part = log[start:start + 10]
            print(f"  steps {start:3d}-{start + len(part) - 1:3d}: NT-Xent "
                  f"{np.mean([p['contrastive'] for p in part]):.3f}, adversary loss "
                  f"{np.mean([p['adversary_loss'] for p in part]):.3f}, accuracy "
                  f"{np.mean([p['adversary_accuracy'] for p in part]):.3f} (chance {1 / len(subjects):.3f})")
        model.save(args.save_dir / f"seed{seed}.safetensors")
        (args.save_dir / f"adversary_log_seed{seed}.json").write_text(json.dumps(log))


if __name__ == "__main__":
    main()
