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
# # The lesson, cell by cell, over this project's code
#
# Episode 2 of *Classification by a neural network using Keras*, step by step as you ran it in Jupyter, but every
# cell calls the **same function** of the `penguins` package that a pipeline stage calls (`stages/*.py`): nothing
# here is a second copy of the pipeline's logic. The numbers come from `params.yaml`, as they do for `dvc repro`.
#
# What this notebook writes goes to `notebooks/scratch/` (git-ignored), never to the pipeline's outputs: the
# pipeline's files stay what `dvc.lock` says they are.
#
# **Its result:** run top to bottom with the committed `params.yaml`, it trains **the same model, byte for byte**,
# as the pipeline's `train` stage: the last cell compares its md5 with the one `dvc.lock` records for
# `models/model.keras`, and its test scores with the committed `metrics/metrics.json`.

# %%
from penguins import notebook
from penguins.params import load_params
from penguins.paths import Paths

notebook.start()  # a bad params.yaml or input shows as one `error: ...` line; pictures inline
params = load_params()  # params.yaml, every value checked (stage validate_params)
scratch = notebook.SCRATCH
params.train

# %% [markdown]
# ## 1. Load the data
#
# The lesson: `penguins = palmerpenguins.load_penguins()`. Stage **`fetch`** (`stages/fetch.py`) copies the CSV
# that ships inside the `palmerpenguins` package (or `fetch.url`, checked against `fetch.sha256`); `read_csv` is
# how every stage reads a CSV.

# %%
from penguins.io import read_csv
from penguins.sources import fetch

fetch(params.fetch, scratch / "raw.csv")
penguins = read_csv(scratch / "raw.csv", labels=[params.data.target])
penguins.head()

# %% [markdown]
# ## 2. Look at it: the pairplot
#
# The lesson: `sns.pairplot(penguins, hue="species")`. Stage **`explore`** (`stages/explore.py`) draws it into
# `plots/pairplot.png`, with the rows that have every measurement (at most `explore.max_points` of them).

# %%
from penguins.plotting import explore_pairplot, theme
from penguins.summary import complete_rows

complete = complete_rows(penguins, params.data)
with theme():
    figure = explore_pairplot(complete, params.data, params.explore, "pairplot")
figure

# %% [markdown]
# ## 3. Clean: keep the features and the target, `dropna()`
#
# The lesson: `penguins_filtered = penguins.drop(columns=["island", "sex"]).dropna()`. Stage **`clean`**
# (`stages/clean.py`, `penguins.data.clean`): 344 rows in, 342 out.

# %%
from penguins import data

cleaned = data.clean(penguins, params.data)
len(penguins), len(cleaned)

# %% [markdown]
# ## 4. One-hot encode the target
#
# The lesson: `target = pd.get_dummies(penguins_filtered["species"])`. Stage **`encode`** (`stages/encode.py`,
# `penguins.data.encode`): one 0/1 column per class, in the order of `data.classes`.

# %%
encoded = data.encode(cleaned, params.data)
record = data.class_record(params.data)  # data/encoded/classes.json: the class order of the model's outputs
encoded.head()

# %% [markdown]
# ## 5. Split into training and test sets
#
# The lesson: `train_test_split(features, target, test_size=0.2, random_state=0, shuffle=True, stratify=target)`.
# Stage **`split`** (`stages/split.py`, `penguins.data.split_checked`): 273 training rows, 69 test rows, and a
# warning if test rows repeat training rows.
# The stages pass the split through CSV files; written and read back here too, the model gets the same numbers.

# %%
from penguins.io import write_csv

train, test = data.split_checked(
    encoded,
    params.split,
    features=params.data.features,
    onehot_columns=record["columns"],
    classes=record["classes"],
    test_source="test.csv",
)
write_csv(scratch / "train.csv", train)
write_csv(scratch / "test.csv", test)
train = read_csv(scratch / "train.csv")
test = read_csv(scratch / "test.csv")
len(train), len(test)

# %% [markdown]
# ## 6. Build, compile and train the model
#
# The lesson: `keras.Input(shape=(4,))`, `Dense(10, activation="relu")`, `Dense(3, activation="softmax")`,
# `model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy())`, then
# `history = model.fit(X_train, y_train, epochs=100)`. Stage **`train`** (`stages/train.py`) does all of it in one
# call, `penguins.training.train_model`, called here too: the stage's checks of the rows first (every class on
# both sides, each feature finite and varying, variances that fit float32, validation rows that copy fitted
# rows), then seeds, the model (`penguins.modeling.build_model`, with this
# project's one change: a `Normalization` layer first, `train.normalize`, adapted on the rows it is fitted on), the
# fit, and the check that no loss or weight went NaN. DVCLive logs every epoch's loss and accuracy, here into
# `notebooks/scratch/dvclive/` (the pipeline's `dvclive/` is left alone).

# %%
from penguins.training import train_model

features, targets = list(params.data.features), record["columns"]
trained = train_model(train, targets, record["classes"], params, "train.csv", scratch / "dvclive")
model, history = trained.model, trained.history
model.summary()
f"{len(history['loss'])} epochs, last validation accuracy {history['val_accuracy'][-1]:.3f}"

# %% [markdown]
# ## 7. The training curves
#
# The lesson: `sns.lineplot(x=history.epoch, y=history.history["loss"])`. Stage **`figures`**
# (`stages/figures.py`) draws `plots/training_curves.png` from DVCLive's log, as here.

# %%
from penguins.history import read_history
from penguins.plotting import training_curves

with theme():
    figure = training_curves(read_history(scratch / "dvclive"))
figure

# %% [markdown]
# ## 8. Save the model and load it again
#
# The lesson: `model.save("my_first_model.keras")`, `keras.saving.load_model(...)`. Stage **`train`** saves
# with `penguins.modeling.save_model` (the same bytes for the same weights), stage **`evaluate`** loads with
# `penguins.modeling.load_model` (Keras' safe mode).

# %%
from penguins import modeling

modeling.save_model(model, scratch / "model.keras")
model = modeling.load_model(scratch / "model.keras")

# %% [markdown]
# ## 9. Predict the test set and score it
#
# The lesson: `y_pred = model.predict(X_test)`, `prediction = pd.DataFrame(y_pred, columns=target.columns)`.
# Stage **`evaluate`** (`stages/evaluate.py`, `penguins.evaluation`): the prediction table of
# `data/predictions/test.csv` and the scores of `metrics/metrics.json`.

# %%
from penguins.evaluation import PROBABILITY_DIGITS, actual_labels, confusion_counts, prediction_table, score

probabilities = modeling.predict(model, test[features].to_numpy("float32"))
actual = actual_labels(test[targets].to_numpy(), record["classes"])
predictions = prediction_table(test[features], probabilities, record["classes"], digits=PROBABILITY_DIGITS)
predictions.insert(len(features), "actual", actual)
scores = score(actual, probabilities, record["classes"])
predictions.head()

# %% [markdown]
# ## 10. The confusion matrix
#
# The lesson: `confusion_matrix(true_species, predicted_species)` and `sns.heatmap(confusion_df, annot=True)`.
# Stages **`evaluate`** (`plots/confusion.csv`) and **`figures`** (`plots/confusion_heatmap.png`).

# %%
from penguins.plotting import confusion_heatmap, confusion_table

pairs = confusion_counts(actual, predictions["predicted"], record["classes"])
with theme():
    figure = confusion_heatmap(
        confusion_table(pairs, params.data.classes, "confusion"), params.data.target
    )  # at most 30 classes
figure

# %% [markdown]
# ## 11. The same result as the pipeline
#
# The model saved above has the md5 that `dvc.lock` records for `models/model.keras` (what `dvc repro` made with
# the same `params.yaml`), and its scores are the committed `metrics/metrics.json`. With other params (edit
# `params.yaml`) the model differs, and this cell says so: `dvc repro` makes the pipeline's from them.

# %%
from penguins.io import file_md5, read_json

same_model = file_md5(scratch / "model.keras") == notebook.locked_md5(str(Paths.MODEL))
same_scores = scores == read_json(Paths.METRICS)
print(f"the model's md5 equals dvc.lock's: {same_model}; the scores equal metrics/metrics.json: {same_scores}")
print(f"{round(scores['accuracy'] * scores['n_test'])} of {scores['n_test']} test penguins correct")
