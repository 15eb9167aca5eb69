"""Subject-adversarial SeqCLR pretraining on EEGMAT: do subject-invariant features help a probe on new subjects?

During pretraining an adversary (a small MLP) reads what the probe reads for one channel, the mean, standard
deviation and log-mean-square over time of the encoder's feature channels, and predicts the window's subject
(EEGMAT's 24 training subjects); its gradient reaches the encoder reversed and scaled by ``--weight`` (gradient
reversal, Ganin & Lempitsky 2015). ``--weight 0`` trains the adversary without touching the encoder: the
package's own pretraining (same random streams), with the adversary only reporting how decodable the subject is.

Not a package option: the training step is the package's :class:`skseqclr.training.Pretrainer` with one extra
loss, patched in here (the package has no public hook for an extra loss). Every other setting is that of the
ablation log's reference runs (small conv encoder, 100 steps). Each seed's encoder and its untrained twin are
scored with the protocol of ``label_efficiency.py``; ``--save-dir`` also keeps the encoders (for
``label_efficiency.py --load-dir``) and the adversary's log::

    python benchmarks/experiments/subject_adversary.py --seeds 0 1 2 --weight 1 --save-dir adversarial/ \
        --output adversarial.json

It prints the contrastive loss and the adversary's loss and accuracy every 10 steps (chance: 1/24).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import skseqclr.transformer
from skseqclr.training import Pretrainer, autocast

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runner as runner  # noqa: E402

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


def build_parser():
    parser = runner.make_parser(__doc__, seeds=(0,), label_draws=10, pretrains=True, steps=100)
    parser.add_argument("--weight", type=float, default=1.0, help="gradient reversal weight (0: monitor only)")
    parser.add_argument("--save-dir", type=Path, default=None,
                        help="keep each seed's encoder (seed<k>.safetensors) and adversary log there")
    return parser


def main(argv=None):
    return runner.run(build_parser(), argv, score)


def adversarial_fit(params, X, seed):
    """SeqCLR of ``params`` pretrained on ``X`` with the subject adversary in the loop, and the adversary's log."""
    SubjectAdversarialPretrainer.log = []
    package_pretrainer = skseqclr.transformer.Pretrainer
    skseqclr.transformer.Pretrainer = SubjectAdversarialPretrainer
    try:
        model = runner.make_seqclr(**params, random_state=seed).fit(X)
    finally:
        skseqclr.transformer.Pretrainer = package_pretrainer
    return model, SubjectAdversarialPretrainer.log


def print_log(log, n_subjects):
    for start in range(0, len(log), 10):
        part = log[start:start + 10]
        print(f"  steps {start:3d}-{start + len(part) - 1:3d}: NT-Xent "
              f"{np.mean([p['contrastive'] for p in part]):.3f}, adversary loss "
              f"{np.mean([p['adversary_loss'] for p in part]):.3f}, accuracy "
              f"{np.mean([p['adversary_accuracy'] for p in part]):.3f} (chance {1 / n_subjects:.3f})")


def score(args, split):
    subjects, codes = np.unique(split.groups_train, return_inverse=True)
    SubjectAdversarialPretrainer.window_subjects, SubjectAdversarialPretrainer.n_subjects = codes, len(subjects)
    SubjectAdversarialPretrainer.weight = args.weight
    params = runner.seqclr_params(args, sfreq=args.sfreq, ch_names=runner.eegmat_names(split.X_train),
                                  n_epochs=10_000, max_steps=args.steps, model_size="small", device=args.device,
                                  preprocessing__units="uV")
    rows = []
    for seed in args.seeds:
        cpu = time.process_time()
        model, log = adversarial_fit(params, split.X_train, seed)
        pretrain_cpu = time.process_time() - cpu
        print(f"seed {seed}, weight {args.weight:g}: {model.n_steps_} steps, {pretrain_cpu:.0f} s CPU, "
              f"final NT-Xent loss {model.history_[-1]['loss']:.3f}", flush=True)
        print_log(log, len(subjects))
        if args.save_dir:
            args.save_dir.mkdir(parents=True, exist_ok=True)
            model.save(args.save_dir / f"seed{seed}.safetensors")
            (args.save_dir / f"adversary_log_seed{seed}.json").write_text(json.dumps(log))
        encoders = {"SeqCLR pretrained": model,
                    "SeqCLR untrained": runner.untrained_twin(model, seed, split.X_train)}
        seed_rows = runner.evaluate(args, encoders, split, seeds=(seed,))
        for row in seed_rows:
            row.update(adversary_weight=args.weight, n_steps=int(encoders[row["method"]].n_steps_))
            if row["method"] == "SeqCLR pretrained":
                row["fit_time_s"] = pretrain_cpu
        rows += seed_rows
    return rows, {k: v for k, v in runner.flat_params(runner.make_seqclr(**params)).items() if k != "random_state"}


if __name__ == "__main__":
    main()
