"""train, evaluate and figures' model logic: the network, training logged by DVCLive and read back, reproducible
saving, safe loading, the rows to fit (real Keras on tiny data: 30 rows, 2 epochs). Scores and the prediction
table: test_evaluation.py."""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pandas as pd
import pytest

from penguins import modeling
from penguins.archive import ZIP_EPOCH
from penguins.environment import PINNED_ENV, TF_THREADS
from penguins.errors import PipelineError
from penguins.history import read_history
from penguins.params import Activation, Params, TrainParams
from penguins.training import (
    check_features_vary,
    check_rows_of_every_class,
    check_variance_fits,
    divergence_hint,
    rows_to_fit,
    train_model,
    validation_duplicates,
)

keras = modeling.keras
tf = modeling.tf

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 4)).astype("float32")
Y = np.eye(3, dtype="float32")[np.arange(30) % 3]
HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]


def test_tensorflow_runs_with_the_pinned_knobs() -> None:
    assert {name: os.environ[name] for name in PINNED_ENV} == PINNED_ENV
    assert tf.config.threading.get_intra_op_parallelism_threads() == TF_THREADS["intra_op"]
    assert tf.config.threading.get_inter_op_parallelism_threads() == TF_THREADS["inter_op"]


def test_every_allowed_activation_exists_in_keras() -> None:
    for name in get_args(Activation):
        assert callable(keras.activations.get(name)), name


@pytest.mark.parametrize(
    ("normalize", "hidden", "trainable"), [(True, (10,), 83), (False, (10,), 83), (True, (16, 8), 80 + 136 + 27)]
)
def test_lesson_network_shape(default_params: Params, normalize: bool, hidden: tuple[int, ...], trainable: int) -> None:
    params = default_params.train.model_copy(update={"normalize": normalize, "hidden_units": hidden})
    model = modeling.build_model(4, 3, params, X)
    assert modeling.trainable_parameter_count(model) == trainable
    assert model.output_shape == (None, 3)
    assert any(isinstance(layer, keras.layers.Normalization) for layer in model.layers) == normalize


def write_series(live_dir: Path, **series: str) -> None:
    """DVCLive's TSV files: write_series(d, train_loss="step\\tloss\\n0\\t1.0\\n") -> plots/metrics/train/loss.tsv."""
    for name, text in series.items():
        path = live_dir / "plots/metrics" / f"{name.replace('_', '/', 1)}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# ---- training, logged by DVCLive ------------------------------------------------------------------


def two_epochs(default_params: Params, **changes: Any) -> TrainParams:
    return default_params.train.model_copy(update={"epochs": 2, **changes})


def train(params: TrainParams, live_dir: Path, n_fit: int = 24) -> Any:
    """The train stage's calls, on tiny data: 24 rows fitted, 6 validating."""
    modeling.configure_determinism(params.seed, params.op_determinism)
    model = modeling.build_model(4, 3, params, X[:n_fit], steps_per_execution=3)
    with modeling.open_live(live_dir) as live:
        modeling.fit(model, X, Y, n_fit, params, live)
    return model


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, default_params: Params) -> tuple[Any, Path]:
    """A model trained for 2 epochs and the DVCLive directory it was logged to."""
    live_dir = tmp_path_factory.mktemp("live")
    return train(two_epochs(default_params), live_dir), live_dir


def test_dvclive_writes_only_the_history_and_metrics(trained: tuple[Any, Path]) -> None:
    _, live_dir = trained
    files = sorted(p.relative_to(live_dir).as_posix() for p in live_dir.rglob("*") if p.is_file())
    assert files == [
        "metrics.json",
        "plots/metrics/eval/accuracy.tsv",
        "plots/metrics/eval/loss.tsv",
        "plots/metrics/train/accuracy.tsv",
        "plots/metrics/train/loss.tsv",
    ]  # no dvc.yaml, report, params or timestamps
    lines = (live_dir / "plots/metrics/train/loss.tsv").read_text().splitlines()
    assert lines[0] == "step\tloss"
    assert [line.split("\t")[0] for line in lines[1:]] == ["0", "1"]
    assert all(len(line.split("\t")[1].partition(".")[2]) <= 6 for line in lines[1:])  # rounded: no float32 noise


def test_history_reads_back_what_was_logged(trained: tuple[Any, Path]) -> None:
    _, live_dir = trained
    history = read_history(live_dir)
    assert list(history.columns) == HISTORY_COLUMNS
    assert history["epoch"].tolist() == [1, 2]
    metrics = json.loads((live_dir / "metrics.json").read_text())
    last = history.iloc[-1]
    assert metrics["train"] == {"loss": last["loss"], "accuracy": last["accuracy"]}
    assert metrics["eval"] == {"loss": last["val_loss"], "accuracy": last["val_accuracy"]}
    assert metrics["step"] == 1


def test_fit_is_deterministic(
    default_params: Params, trained: tuple[Any, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """... and reports its progress on stderr only: one line per epoch below 10 epochs."""
    model, live_dir = trained
    again = train(two_epochs(default_params), tmp_path)
    out, err = capsys.readouterr()
    assert out == ""
    assert re.fullmatch(
        r"train: epoch 1/2, \d+\.\d s elapsed, about \d+\.\d s left\ntrain: epoch 2/2, \d+\.\d s elapsed, done\n", err
    ), err
    for first, second in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(first, second)
    for name in ("metrics.json", "plots/metrics/train/loss.tsv", "plots/metrics/eval/accuracy.tsv"):
        assert (tmp_path / name).read_bytes() == (live_dir / name).read_bytes(), name


def test_a_run_without_validation_leaves_no_stale_eval_history(default_params: Params, tmp_path: Path) -> None:
    """Training again on every row into the same directory: a previous run's eval/*.tsv must not survive."""
    write_series(tmp_path, eval_loss="step\tloss\n0\t1.2\n1\t1.1\n", eval_accuracy="step\taccuracy\n0\t0.5\n1\t0.6\n")
    train(two_epochs(default_params, validation_split=0.0), tmp_path, n_fit=30)
    assert not (tmp_path / "plots/metrics/eval").exists()
    assert list(read_history(tmp_path).columns) == ["epoch", "loss", "accuracy"]


def test_saved_model_is_byte_stable_and_reloads_identically(trained: tuple[Any, Path], tmp_path: Path) -> None:
    model, _ = trained
    first, second = tmp_path / "a.keras", tmp_path / "b.keras"
    modeling.save_model(model, first)
    modeling.save_model(model, second)
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    with zipfile.ZipFile(first) as archive:
        assert {info.date_time for info in archive.infolist()} == {ZIP_EPOCH}
        assert "date_saved" not in json.loads(archive.read("metadata.json"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.keras", "b.keras"]  # no temporary files left
    reloaded = modeling.load_model(first)
    np.testing.assert_array_equal(reloaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_load_model_refuses_foreign_and_missing_files(tmp_path: Path) -> None:
    fake = tmp_path / "model.keras"
    fake.write_text("not a zip")
    with pytest.raises(PipelineError, match=r"model\.keras: cannot load as a Keras model \("):
        modeling.load_model(fake)
    with pytest.raises(PipelineError) as err:
        modeling.load_model(tmp_path / "missing.keras")
    assert str(err.value) == (
        f"{tmp_path}/missing.keras: model file not found; run `dvc repro train` or pass another --model"
    )


def test_a_truncated_model_is_not_called_missing(trained: tuple[Any, Path], tmp_path: Path) -> None:
    """Keras says "File not found" for a .keras file cut short (an interrupted copy or download)."""
    model, _ = trained
    whole, cut = tmp_path / "whole.keras", tmp_path / "cut.keras"
    modeling.save_model(model, whole)
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(PipelineError) as err:
        modeling.load_model(cut)
    assert str(err.value) == (
        f"{cut}: cannot load as a Keras model (not a complete .keras zip archive: truncated or not a model, "
        f"{cut.stat().st_size} bytes); make it again (`dvc repro train`, or `dvc checkout` to restore the "
        "committed one) or pass another --model"
    )


def test_load_model_refuses_python_code_in_safe_mode(tmp_path: Path) -> None:
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(4,))
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(inputs)).save(path)
    with pytest.raises(PipelineError) as err:
        modeling.load_model(path)
    assert str(err.value).startswith(
        f"{path}: refused by Keras safe mode, the model carries Python code that would run on loading "
        "(Requested the deserialization of a `Lambda` layer"
    )
    assert str(err.value).endswith("; only models built from standard Keras layers are loaded")


# ---- the history's files, as figures reads them ---------------------------------------------------


TRAIN_ONLY = {"train_loss": "step\tloss\n0\t1.0\n1\t0.5\n", "train_accuracy": "step\taccuracy\n0\t0.5\n1\t0.75\n"}


def test_history_without_validation(tmp_path: Path) -> None:
    write_series(tmp_path, **TRAIN_ONLY)
    history = read_history(tmp_path)
    assert history.to_dict("list") == {"epoch": [1, 2], "loss": [1.0, 0.5], "accuracy": [0.5, 0.75]}


def test_read_history_needs_both_training_series(tmp_path: Path) -> None:
    write_series(tmp_path, train_loss=TRAIN_ONLY["train_loss"])
    with pytest.raises(PipelineError) as err:
        read_history(tmp_path)
    assert str(err.value).startswith(f"{tmp_path}/plots/metrics/train/accuracy.tsv: ")  # io's "file not found"


def test_read_history_names_a_bad_cell(tmp_path: Path) -> None:
    write_series(tmp_path, **{**TRAIN_ONLY, "train_loss": "step\tloss\n0\t1.0\n1\tlots\n"})
    with pytest.raises(PipelineError) as err:
        read_history(tmp_path)
    assert str(err.value).startswith(f"{tmp_path}/plots/metrics/train/loss.tsv: line 3: column 'loss' ")
    assert str(err.value).endswith("; re-run train (dvc repro)")


def test_read_history_names_a_file_without_its_columns(tmp_path: Path) -> None:
    write_series(tmp_path, **{**TRAIN_ONLY, "train_loss": "step,loss\n0,1.0\n"})  # commas, not tabs
    with pytest.raises(PipelineError) as err:
        read_history(tmp_path)
    assert str(err.value).startswith(f"{tmp_path}/plots/metrics/train/loss.tsv: ")
    assert "'step'" in str(err.value)


def test_read_history_refuses_series_of_different_runs(tmp_path: Path) -> None:
    write_series(tmp_path, **TRAIN_ONLY, eval_loss="step\tloss\n0\t1.2\n")  # 1 epoch validated, 2 trained
    with pytest.raises(PipelineError) as err:
        read_history(tmp_path)
    assert str(err.value) == (
        f"{tmp_path}: its metric files have an empty value or cover different epochs; re-run train (dvc repro)"
    )


@pytest.mark.parametrize("steps", [("0", "0"), ("0", "0.5")])
def test_read_history_repeated_or_fractional_step_is_one_line(tmp_path: Path, steps: tuple[str, str]) -> None:
    write_series(tmp_path, **{**TRAIN_ONLY, "train_loss": f"step\tloss\n{steps[0]}\t1.0\n{steps[1]}\t0.9\n"})
    with pytest.raises(PipelineError) as err:
        read_history(tmp_path)
    assert str(err.value).startswith(f"{tmp_path}/plots/metrics/train/loss.tsv: line 3: step ")
    assert "\n" not in str(err.value)


# ---- rows to fit -------------------------------------------------------------------------------------


def test_rows_to_fit_follow_validation_split(default_params: Params) -> None:
    assert rows_to_fit(273, default_params.train, "train.csv") == 219  # the lesson's split: 54 validation rows
    assert rows_to_fit(5, default_params.train, "train.csv") == 4
    assert rows_to_fit(1, default_params.train.model_copy(update={"validation_split": 0.0}), "train.csv") == 1
    with pytest.raises(PipelineError) as err:
        rows_to_fit(4, default_params.train, "train.csv")
    assert str(err.value) == (
        "train.csv: 4 rows cannot be divided with train.validation_split=0.2; "
        "use a value that leaves at least one row on each side (or 0 for no validation)"
    )


def test_every_class_needs_rows_to_fit_and_to_validate(default_params: Params) -> None:
    """Keras validates on the last rows, unstratified: a class may miss either side, and must not silently."""
    onehot = np.eye(3, dtype="float32")
    fitted = [0, 1, 2] * 4  # 12 rows fitted, the last 3 of 15 validate (validation_split 0.2)
    check_rows_of_every_class(onehot[[*fitted, 0, 1, 2]], 12, CLASSES, default_params.train, "train.csv")
    with pytest.raises(PipelineError) as err:
        check_rows_of_every_class(onehot[[0, 2] * 6 + [0, 1, 1]], 12, CLASSES, default_params.train, "train.csv")
    assert str(err.value) == (
        "train.csv: class 'Chinstrap' has no rows to fit on: all 2 of its rows are among the validation rows "
        "(the last 3 of 15, train.validation_split=0.2); lower train.validation_split or add rows of 'Chinstrap'"
    )
    with pytest.raises(PipelineError) as err:
        check_rows_of_every_class(onehot[[*fitted, 0, 1, 1]], 12, CLASSES, default_params.train, "train.csv")
    assert str(err.value) == (
        "train.csv: class 'Gentoo' has no validation rows (the last 3 of 15, train.validation_split=0.2; its 4 "
        "rows are all fitted on), so eval.accuracy would leave it out; raise train.validation_split, "
        "add rows of 'Gentoo', or set train.validation_split: 0 for no validation"
    )
    no_validation = default_params.train.model_copy(update={"validation_split": 0.0})
    check_rows_of_every_class(onehot[fitted], 12, CLASSES, no_validation, "train.csv")
    with pytest.raises(PipelineError, match=r"^train\.csv: class 'Chinstrap' has no rows; re-run split"):
        check_rows_of_every_class(onehot[[0, 2, 0, 2]], 4, CLASSES, no_validation, "train.csv")


CLASSES = ["Adelie", "Chinstrap", "Gentoo"]


# ---- features that cannot be learnt from, named before training ------------------------------


@pytest.mark.parametrize("constant", [5.0, 0.0, -1e30, 3.4e38])
def test_a_feature_constant_over_the_fitted_rows_is_refused_by_name(constant: float) -> None:
    x = np.array([[39.1, constant], [46.5, constant], [50.0, constant]], dtype="float32")
    with pytest.raises(PipelineError) as err:
        check_features_vary(x, ["bill_length_mm", "const"], "train.csv")
    assert str(err.value).startswith(f"train.csv: feature 'const' is {float(np.float32(constant)):g} in every one")
    check_features_vary(x[:, :1], ["bill_length_mm"], "train.csv")  # one that varies passes


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.assign(f1=5.0), "feature 'f1' is 5 in every one"),
        (lambda f: f.assign(f2=np.where(f.index == 3, np.inf, f["f2"])), "f2"),
        (lambda f: f.assign(a=0.0, b=f["a"] + f["b"]), "class 'A' has no rows"),
        (lambda f: pd.concat([f] * 5, ignore_index=True), r"validation rows .* equal .*refused"),  # copies of fitted
    ],
)
def test_train_model_makes_the_stages_checks_before_training(
    default_params: Params, tmp_path: Path, change: Any, expected: str
) -> None:
    """What the train stage and the lesson notebook both call refuses bad rows before any training or logging."""
    features = ["f0", "f1", "f2", "f3"]
    params = default_params.model_copy(update={"data": default_params.data.model_copy(update={"features": features})})
    frame = pd.DataFrame(X, columns=features).assign(a=Y[:, 0], b=Y[:, 1], c=Y[:, 2])
    with pytest.raises(PipelineError, match=expected) as err:
        train_model(change(frame), ["a", "b", "c"], ["A", "B", "C"], params, "train.csv", tmp_path / "live")
    assert str(err.value).startswith("train.csv")
    assert not (tmp_path / "live").exists()  # nothing trained, nothing logged


@pytest.mark.parametrize("values", [[1e29, 2e29, 3e29], [-1e19, 1e19, 3e19], [1e37] * 3 + [2e37] * 97])
def test_values_whose_variance_overflows_normalization_are_named(default_params: Params, values: list[float]) -> None:
    x = np.stack([np.linspace(30, 50, len(values)), values], axis=1).astype("float32")
    with pytest.raises(PipelineError) as err:
        check_variance_fits(x, ["bill_length_mm", "huge"], default_params.train, "train.csv")
    assert "feature 'huge'" in str(err.value) and "overflows float32 in the Normalization layer" in str(err.value)
    assert "normalize: true" in str(err.value) and "set train.normalize" not in str(err.value)
    lesson = default_params.train.model_copy(update={"normalize": False})
    check_variance_fits(x, ["bill_length_mm", "huge"], lesson, "train.csv")  # no Normalization layer


def test_values_normalization_takes_pass(default_params: Params) -> None:
    x = np.array([[1e18, 1.0], [3e18, 2.0], [1.0001e20, 3.0]], dtype="float32")[:2]
    check_variance_fits(x, ["big", "small"], default_params.train, "train.csv")


def test_validation_rows_copying_fitted_rows_are_counted_warned_and_refused() -> None:
    """The validation rows (after n_fit) pick a sweep's best experiment: copies of fitted rows, also ones equal
    only in float32, make that choice one of memory. Same shares as split's test rows."""
    fitted = np.array([[39.1, 3750.0], [46.5, 4200.0], [50.0, 5000.0], [40.3, 3250.0]])
    new = fitted + np.array([[0.5, 10.0]])
    classes = np.array([[1, 0], [0, 1], [0, 1], [1, 0]], dtype="float32")

    def check(*blocks: np.ndarray, y: np.ndarray | None = None) -> str | None:  # the first block is fitted
        y = np.tile(classes, (len(blocks), 1)) if y is None else y
        return validation_duplicates(np.vstack(blocks), y, len(fitted), "train.csv")

    assert check(fitted, new, new + 1.0) is None
    note = check(fitted, new, new + 1.0, fitted + 1e-9)  # equal in float32 only
    assert note and note.startswith("train.csv: 4 of the 12 validation rows (33.3%; the last train.validation_split")
    assert "equal a fitted row" in note and "eval/" in note
    with pytest.raises(PipelineError, match=r"train.csv: 8 of the 12 validation rows \(66.7%;") as err:
        check(fitted, fitted + 1e-9, fitted, new)
    assert "refused" in str(err.value) and "\n" not in str(err.value)
    other = np.vstack([classes, np.tile(classes[:, ::-1], (3, 1))])  # every validation row of the other class
    assert check(fitted, fitted + 1e-9, fitted, new, y=other) is None


def test_the_divergence_hint_names_the_largest_feature_and_fits_the_params(default_params: Params) -> None:
    x = np.array([[39.1, 1e29], [46.5, 2e29]], dtype="float32")
    hint = divergence_hint(x, ["bill_length_mm", "huge"], default_params.train, "train.csv")
    assert "'huge', up to 2e+29" in hint and "normalize" not in hint
    lesson = default_params.train.model_copy(update={"normalize": False})
    assert "set train.normalize: true" in divergence_hint(x, ["bill_length_mm", "huge"], lesson, "train.csv")
    with_nan = np.array([[39.1, np.nan], [46.5, 2.0]], dtype="float32")
    assert divergence_hint(with_nan, ["bill_length_mm", "gap"], lesson, "train.csv") == (
        "check the values in train.csv ('gap' has an empty or NaN cell)"
    )
