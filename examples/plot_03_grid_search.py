"""
Searching augmentation strengths with GridSearchCV
==================================================

The paper found that which augmentations help, and how strong they should be,
depends on the task (§2.2). In skseqclr every augmentation's range is an
estimator parameter, so scikit-learn's :class:`~sklearn.model_selection.GridSearchCV`
can search it like any other hyperparameter: each candidate pretrains its own
encoder on the training folds and is scored by the classifier on top.

Here we search the range of the amplitude-scale augmentation on synthetic
EEG-like windows, next to the untrained-encoder control. The budget is tiny
(a few pretraining steps per fit), so read the plot as a demonstration of the
tool, not as a finding about amplitude scaling.
"""

# %%
# Data and Pipeline
# -----------------
import os

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skseqclr import SeqCLRTransformer
from skseqclr.datasets import make_synthetic_eeg

QUICK = os.environ.get("SKSEQCLR_DOCS_QUICK", "0") not in ("", "0")
sfreq = 64.0
X, y = make_synthetic_eeg(n_windows=120 if QUICK else 180, n_channels=8, n_times=256, sfreq=sfreq,
                          noise=2.0, random_state=1)

cpu_sizes = dict(model_size=dict(preset="small", branch_channels=(8, 8, 4), n_residual=1, lstm_sizes=(16, 8, 4),
                                 hidden_size=16))
pipe = make_pipeline(
    SeqCLRTransformer(**cpu_sizes, sfreq=sfreq, time_shift=(-16, 16), zero_mask=(0, 48),
                      n_epochs=1, batch_size=64, random_state=0),
    StandardScaler(),
    LogisticRegression(max_iter=1000),
)

# %%
# The grid
# --------
# Parameters of a Pipeline step are addressed as ``<step>__<parameter>``.
# ``None`` turns the augmentation off (the other five still apply). A list of
# grids adds the control, the same Pipeline with ``n_epochs=0``, so that it is
# scored on exactly the same folds.
strengths = [None, (0.8, 1.25), (0.5, 2.0)] if QUICK else [None, (0.8, 1.25), (0.5, 2.0), (0.25, 4.0)]
param_grid = [
    {"seqclrtransformer__amplitude_scale": strengths},
    {"seqclrtransformer__n_epochs": [0]},
]
cv = StratifiedKFold(n_splits=2 if QUICK else 3, shuffle=True, random_state=0)
search = GridSearchCV(pipe, param_grid, cv=cv, scoring="balanced_accuracy", n_jobs=1)
search.fit(X, y)

results = pd.DataFrame(search.cv_results_)
results["candidate"] = [
    "untrained (n_epochs=0)" if p.get("seqclrtransformer__n_epochs") == 0
    else f"amplitude_scale={p['seqclrtransformer__amplitude_scale']}"
    for p in results["params"]
]
print(results[["candidate", "mean_test_score", "std_test_score", "mean_fit_time"]].to_string(index=False))
print("best:", search.best_params_)

# %%
# The scores
# ----------
# Mean balanced accuracy over the folds, with the spread between folds.
fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
colors = ["0.6" if c.startswith("untrained") else "C0" for c in results["candidate"]]
ax.barh(results["candidate"], results["mean_test_score"], xerr=results["std_test_score"], color=colors)
ax.axvline(0.5, color="k", linestyle=":", linewidth=1)
ax.set_xlim(0, 1)
ax.set_xlabel("balanced accuracy (cross-validated)")
ax.invert_yaxis()
ax.set_title("GridSearchCV over the amplitude-scale range")
plt.show()

# %%
# ``search.best_estimator_`` is the Pipeline refitted on all windows with the
# best candidate. With a real budget, search the ranges on a validation split
# of your own task: the paper's ranges are a starting point, not a rule. Any
# of ``amplitude_scale``, ``time_shift``, ``dc_shift``, ``zero_mask``,
# ``gaussian_noise`` and ``bandstop`` can be searched the same way, and so can
# braindecode datasets through skorch's ``SliceDataset`` (see the
# :doc:`quickstart </quickstart>`).
#
# On this task the untrained control (``n_epochs=0``) is often ahead of every
# augmentation setting: the classes differ in rhythm frequency, which random
# convolutional filters already separate, and one epoch of a tiny encoder
# cannot add much. The search is still the right tool, because which
# invariances help depends on the task; with subjects, use grouped folds
# (``GroupKFold``) as :doc:`/user_guide/choosing_augmentations` explains, and
# see :doc:`/results` for what the candidates give on six tasks.
