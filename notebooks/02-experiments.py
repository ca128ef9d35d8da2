# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Experiments from Jupyter: run, compare, choose, keep
#
# In the lesson you changed a number in a cell and ran the notebook again, and the previous result was gone.
# Here each change is a **DVC experiment**: the pipeline itself runs (`dvc exp run -S key=value`), only the stages
# the change affects run again, and every experiment keeps its params, its `dvc.lock`, its metrics and its
# training curves, side by side, for as long as you like.
#
# `--temp` runs each experiment in a temporary copy of the repository: your workspace (`params.yaml`,
# `dvc.lock`, the outputs) stays as it is, and `git status` shows nothing new afterwards. The experiments are
# recorded under git's `refs/exps/`, where `dvc exp show` finds them.
#
# Run `make run` once first (`dvc repro`), so that the stages before `train` come from DVC's cache.

# %%
import dvc.api

from penguins import notebook

notebook.start()  # a failed run shows as one `error: ...` line: DVC's own, naming the bad value

# %% [markdown]
# ## 1. Run two experiments
#
# The same as typing `dvc exp run --temp -n NAME -S train.epochs=20 -S train.learning_rate=...` in a terminal.
# 20 epochs instead of 100, so that both finish in a minute: this project's learning rate (0.01) against Keras'
# default (0.001), the lesson's. An experiment of the same name from an earlier run of this notebook is removed
# first (`dvc exp remove`), so you can run it again.

# %%
runs = {
    "nb-lr-0.01": ["train.epochs=20", "train.learning_rate=0.01"],
    "nb-lr-0.001": ["train.epochs=20", "train.learning_rate=0.001"],
}
earlier = [name for name in runs if name in {row["Experiment"] for row in dvc.api.exp_show()}]
if earlier:
    notebook.dvc("exp", "remove", *earlier)
for name, settings in runs.items():
    notebook.dvc("exp", "run", "--temp", "-n", name, *[arg for setting in settings for arg in ("-S", setting)])

# %% [markdown]
# ## 2. Compare them
#
# `dvc.api.exp_show()` is `dvc exp show` as Python rows. As `make exp-show` does, keep test accuracy, macro F1 and
# loss, the validation accuracy (`eval.accuracy`: DVCLive's last epoch, on the 20% of the training rows never
# trained on) and the parameter count, plus the params that differ. The first rows are your workspace and the
# commit the experiments started from.

# %%
table = notebook.experiments_table(dvc.api.exp_show(), names=list(runs))
table

# %% [markdown]
# ## 3. Their validation curves, side by side
#
# Each experiment's git commit holds DVCLive's per-epoch log (`dvclive/plots/metrics/eval/*.tsv`);
# `dvc.api.read(path, rev=...)` reads it from there, without checking anything out.

# %%
from matplotlib.figure import Figure

figure = Figure(figsize=(11, 4), layout="constrained")  # shown once, as the cell's value
axes = figure.subplots(1, 2)
for name in runs:
    history = notebook.live_history(table.loc[name, "rev"])
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        ax.plot(history["epoch"], history[metric], label=name, linewidth=2)
        ax.set(xlabel="Epoch", title=f"Validation {metric} per epoch")
for ax in axes:
    ax.legend()
figure

# %% [markdown]
# ## 4. Choose by validation accuracy, not test accuracy
#
# The test set is for the final word on the model you chose; choosing by it would make that word optimistic.

# %%
best = table.loc[list(runs), "eval.accuracy"].astype(float).idxmax()
print(f"best by validation accuracy: {best} ({table.loc[best, 'eval.accuracy']:.3f})")

# %% [markdown]
# ## 5. Keep it, or go back
#
# The experiment lives beside your workspace until you keep it. Two ways, in a terminal:
#
# - `dvc exp branch NAME my-branch`: a git branch with its `params.yaml`, `dvc.lock`, metrics and curves;
#   your workspace is unchanged.
# - `dvc exp apply NAME`, then `git add -A && git commit -m "..."`: it becomes your workspace (its outputs come
#   from DVC's cache), and the commit makes it the project's baseline.
#
# Changed your mind after `dvc exp apply`, or an experiment failed half-way in your workspace? `make reset`
# (`python tasks.py reset`) brings back the committed `params.yaml`, `dvc.lock` and outputs; `dvc exp remove NAME`
# forgets an experiment.

# %%
print(f"dvc exp branch {best} {best}")
print(f'dvc exp apply {best} && git add -A && git commit -m "Keep experiment {best}"')
