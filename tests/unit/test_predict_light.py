"""The light model (penguins/light.py) and predict's light path: the file (deterministic, safetensors, bounded and
safe to load), its forward pass against real Keras (every activation params.yaml allows, a trained model with
non-default params), the card binding it, and what predict says about paths, endless input and a feature that
never varied. Keras' own path: test_predict.py."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pandas as pd
import pytest

from penguins import light, predict_input
from penguins.card import ModelCard, check_card_belongs
from penguins.errors import PipelineError
from penguins.io import write_json
from penguins.params import Activation, load_params
from penguins.paths import ROOT
from penguins.predict_input import BoundedText, near_constant, read_input, span, values_from_options
from penguins.predict_output import render_csv, result_table
from penguins.sources import read_package_csv
from tests.helpers.predict import cli
from tools.repo.run import ENV

FEATURES = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
CLASSES = ("Adelie", "Chinstrap", "Gentoo")
PENGUIN = ["--bill-length-mm", "39.1", "--bill-depth-mm", "18.7", "--flipper-length-mm", "181", "--body-mass-g", "3750"]


@pytest.fixture(scope="module")
def modeling() -> Any:
    from penguins import modeling  # TensorFlow, for these tests only

    return modeling


@pytest.fixture(scope="module")
def palmer() -> tuple[np.ndarray, np.ndarray]:
    """The Palmer penguins' complete rows: features (float32) and one-hot species."""
    raw = pd.read_csv(io.BytesIO(read_package_csv())).dropna(subset=[*FEATURES, "species"])
    return raw[list(FEATURES)].to_numpy("float32"), pd.get_dummies(raw["species"])[list(CLASSES)].to_numpy("float32")


def network(modeling: Any, x: np.ndarray, **train: Any) -> Any:
    """The project's network (modeling.build_model) with params.yaml's train section changed by ``train``."""
    params = load_params(ROOT / "params.yaml").train.model_copy(update=train)
    modeling.keras.utils.set_random_seed(0)
    return modeling.build_model(x.shape[1], 3, params, x)


def probe_rows(x: np.ndarray) -> np.ndarray:
    """The data set's rows, and rows far outside it (large logits), where float32 rounding shows most."""
    rng = np.random.default_rng(0)
    far = rng.uniform(x.min(axis=0) / 2, x.max(axis=0) * 2, size=(2000, x.shape[1]))
    return np.concatenate([x, far]).astype("float32")


# ---- the forward pass against Keras ----------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")
def test_every_activation_params_allow_is_computed_as_keras_does(modeling: Any, palmer: Any) -> None:
    """Each activation of penguins.params.Activation, in two hidden layers: untrained (random) weights. (exponential
    overflows on raw measurements, in Keras as here: NaN in the same cells.)"""
    x, _ = palmer
    assert set(get_args(Activation)) <= set(light.ACTIVATIONS)  # covered, or train could not export it
    rows = probe_rows(x)
    for activation in get_args(Activation):
        for normalize in (True, False):
            model = network(modeling, x, hidden_units=(6, 5), activation=activation, normalize=normalize)
            exported = light.from_bytes(light.to_bytes(light.layers_of(model)))
            keras_probabilities = modeling.predict(model, rows)
            found = exported.predict(rows)
            assert found.dtype == np.float32
            # exponential overflows far from the data, in Keras as here: NaN in the same cells
            np.testing.assert_array_equal(np.isnan(found), np.isnan(keras_probabilities))
            gap = np.abs(found - keras_probabilities)
            assert np.nanmax(gap[: len(x)], initial=0) <= 1e-6, (activation, normalize)  # the data set's rows
            assert np.nanmax(gap, initial=0) <= light.AGREEMENT, (activation, normalize)  # and far outside


def test_a_trained_model_with_non_default_params_agrees(modeling: Any, palmer: Any) -> None:
    """Two hidden layers, tanh, a few epochs: the same class on every row and max |difference| within AGREEMENT."""
    x, y = palmer
    model = network(modeling, x, hidden_units=(8, 6), activation="tanh")
    model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    exported = light.from_bytes(light.to_bytes(light.layers_of(model)))
    keras_probabilities = modeling.predict(model, x)
    assert light.disagreement(keras_probabilities, exported.predict(x)) is None
    assert (exported.predict(x).argmax(axis=1) == keras_probabilities.argmax(axis=1)).all()


def test_a_layer_the_light_model_cannot_compute_is_refused_by_the_export(modeling: Any) -> None:
    keras = modeling.keras
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.Dropout(0.5)(inputs)))
    with pytest.raises(PipelineError) as err:
        light.layers_of(model)
    assert str(err.value).startswith("layer dropout") and "the light model has no Dropout layer" in str(err.value)


def test_disagreement_is_one_reason() -> None:
    keras = np.array([[0.9, 0.1], [0.4, 0.6]], dtype="float32")
    assert light.disagreement(keras, keras + np.float32(5e-6)) is None
    assert light.disagreement(keras, keras[:, ::-1]) == "another class on 2 rows (the first: row 1)"
    assert light.disagreement(keras, keras + np.float32(1e-4)) == (
        "probabilities differ by up to 0.0001 (at most 1e-05 accepted)"
    )


# ---- the file ---------------------------------------------------------------------------------------


def dense(rng: np.random.Generator, n_in: int, n_out: int) -> dict[str, np.ndarray]:
    return {"kernel": rng.normal(size=(n_in, n_out)).astype("float32"), "bias": np.zeros(n_out, "float32")}


def tiny_layers() -> list[light.Layer]:
    rng = np.random.default_rng(1)
    return [
        light.Layer(
            "Normalization", "normalize", {"mean": np.ones(2, "float32"), "variance": np.full(2, 4, "float32")}
        ),
        light.Layer("Dense", "hidden_1", dense(rng, 2, 3), "relu"),
        light.Layer("Dense", "probabilities", dense(rng, 3, 2), "softmax"),
    ]


def test_the_file_is_deterministic_safetensors() -> None:
    raw = light.to_bytes(tiny_layers())
    assert raw == light.to_bytes(tiny_layers())  # the same weights, the same bytes: dvc.lock stays put
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    assert size % 8 == 0 and header["__metadata__"]["format"] == "penguins-light"
    assert header["hidden_1.kernel"] == {"dtype": "F32", "shape": [2, 3], "data_offsets": [16, 40]}
    model = light.from_bytes(raw)
    assert (model.n_inputs, model.n_outputs) == (2, 2)
    np.testing.assert_array_equal(model.layers[1].tensors["kernel"], tiny_layers()[1].tensors["kernel"])


def header_edit(raw: bytes, change: Any) -> bytes:
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    change(header)
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + raw[8 + size :]


def layers_meta(header: dict[str, Any], edit: Any) -> None:
    spec = json.loads(header["__metadata__"]["layers"])
    edit(spec)
    header["__metadata__"]["layers"] = json.dumps(spec)


RAW = light.to_bytes(tiny_layers())


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "0 bytes, too short for a safetensors file"),
        (RAW[:100], "a header of"),  # truncated
        (struct.pack("<Q", 2**40) + RAW[8:], "a header of 1099511627776 bytes"),  # a header larger than the file
        (struct.pack("<Q", 4) + b"[1] " + RAW[8:], "its header is not a light model's"),
        (struct.pack("<Q", 200_000) + b"[" * 200_000, "its header is not a light model's"),  # nested too deep
        (header_edit(RAW, lambda h: h["__metadata__"].update(format="other")), "format 'other' version '1', not"),
        (header_edit(RAW, lambda h: h["__metadata__"].update(version="9")), "version '9'"),
        (header_edit(RAW, lambda h: h["hidden_1.kernel"].update(dtype="F64")), "'hidden_1.kernel': dtype 'F64', not"),
        (header_edit(RAW, lambda h: h["hidden_1.kernel"].update(data_offsets=[0, 10**9])), "tensor 'hidden_1.kernel'"),
        (header_edit(RAW, lambda h: h["hidden_1.kernel"].update(data_offsets=[0, 24])), "overlap or gap"),  # aliasing
        (header_edit(RAW, lambda h: h.update(spare=h["hidden_1.kernel"])), "tensor 'spare': not used by any layer"),
        (header_edit(RAW, lambda h: h["hidden_1.kernel"].update(shape=[float("inf"), 3])), "shape of positive int"),
        (header_edit(RAW, lambda h: h["hidden_1.kernel"].update(shape=[True, 3])), "shape of positive integers"),
        (header_edit(RAW, lambda h: layers_meta(h, lambda s: s[1].update(activation=["relu"]))), "activation ['relu']"),
        (header_edit(RAW, lambda h: layers_meta(h, lambda s: s[1].update(activation={}))), "activation {}"),
        (header_edit(RAW, lambda h: layers_meta(h, lambda s: s[2].update(activation="relu"))), "takes softmax"),
        (
            header_edit(RAW, lambda h: layers_meta(h, lambda s: s.extend(s[:1] * 8))),
            "11 layers; a light model has 1 to 10",
        ),
        (
            header_edit(RAW, lambda h: layers_meta(h, lambda s: s.insert(2, s[0] | {"name": "n2"}))),
            "can only come first",
        ),
        (RAW[:-4], "the tensors cover 84 bytes of data, the file has 80"),
        (
            header_edit(RAW, lambda h: h["hidden_1.kernel"].update(shape=[3, 3])),
            "shapes [3, 3], [3] do not follow a width of 2",
        ),
        (header_edit(RAW, lambda h: layers_meta(h, lambda s: s[1].update(activation="evil"))), "activation 'evil';"),
        (header_edit(RAW, lambda h: layers_meta(h, lambda s: s[1].update(kind="Lambda"))), "only Normalization and"),
        (header_edit(RAW, lambda h: layers_meta(h, lambda s: s[1].update(name="a\n\x1b[31mb"))), "'a\\n\\x1b[31mb'"),
        (header_edit(RAW, lambda h: layers_meta(h, lambda s: s.pop(1))), "do not follow a width of 2"),
        (header_edit(RAW, lambda h: h.pop("hidden_1.kernel")), "layer 'hidden_1': tensor 'hidden_1.kernel' missing"),
    ],
)
def test_a_damaged_or_foreign_file_is_one_line(raw: bytes, reason: str, tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(raw)
    with pytest.raises(PipelineError) as err:
        light.read_light(path, "m.safetensors", "regenerate it")
    message = str(err.value)
    assert message.startswith("m.safetensors: not a light model (") and message.endswith("; regenerate it")
    assert reason in message, message
    assert "\n" not in message


def test_normalization_tensors_are_vectors_and_tensors_are_views_of_the_file() -> None:
    """A 2-D mean and variance turned one input row into two output rows; and every tensor was a copy (with 200
    header entries aliasing the same bytes, a 4.2 MB file took 859 MB)."""
    layers = tiny_layers()
    layers[0] = light.Layer("Normalization", "normalize", {k: np.ones((2, 2), "float32") for k in ("mean", "variance")})
    with pytest.raises(ValueError, match=r"^layer 'normalize': shapes \[2, 2\], \[2, 2\] do not follow a width of 2$"):
        light.from_bytes(light.to_bytes(layers))
    raw = light.to_bytes(tiny_layers())
    model = light.from_bytes(raw)
    for layer in model.layers:
        for tensor in layer.tensors.values():
            assert (
                tensor.dtype == np.float32
                and not tensor.flags.owndata
                and np.shares_memory(tensor, np.frombuffer(raw, "u1"))
            )


def mutations(header: dict[str, Any]) -> list[tuple[list[Any], Any]]:
    """(path, new value) for every value in the header and its layer list: what a damaged file might hold."""
    odd = [None, True, -1, 0, 2**70, 1.5, float("inf"), "x", [], {}, [1, "a"], {"a": 1}, [[2, 3]], ["relu"]]
    found: list[tuple[list[Any], Any]] = []

    def walk(node: Any, path: list[Any]) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, value in items:
            found.extend(([*path, key], v) for v in odd)
            walk(value, [*path, key])

    walk(header, [])
    return found


def test_any_damaged_header_value_is_one_line_or_a_model() -> None:
    """Fuzz-style: every value of the header (and of its layer list) replaced by odd JSON: a model, or ValueError
    (read_light's one line); never TypeError, OverflowError or another traceback."""
    (size,) = struct.unpack("<Q", RAW[:8])
    header = json.loads(RAW[8 : 8 + size])
    header["__metadata__"]["layers"] = json.loads(header["__metadata__"]["layers"])
    outcomes, reasons = set(), []
    for path, value in mutations(header):
        edited = json.loads(json.dumps(header))
        node = edited
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        meta = edited.get("__metadata__")
        if isinstance(meta, dict) and "layers" in meta and not isinstance(meta["layers"], str):
            meta["layers"] = json.dumps(meta["layers"])
        text = json.dumps(edited).encode()
        try:
            light.from_bytes(struct.pack("<Q", len(text)) + text + RAW[8 + size :])
            outcomes.add("model")
        except ValueError as exc:
            reasons.append(str(exc))
            outcomes.add("refused")
    assert outcomes == {"model", "refused"}
    assert not [reason for reason in reasons if "\n" in reason or len(reason) > 400]


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as err:
        light.read_light(tmp_path / "none.safetensors", "none.safetensors", "regenerate it")
    assert str(err.value) == "none.safetensors: cannot be read (No such file or directory); regenerate it"


def test_a_file_too_large_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(RAW)
    monkeypatch.setattr(light, "MAX_BYTES", len(RAW) - 1)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read"))
    with pytest.raises(PipelineError, match=r"^m.safetensors: 0 MiB, more than a light model of this project"):
        light.read_light(path, "m.safetensors", "regenerate it")


# ---- predict: the light path, bound to its card -------------------------------------------------------


@pytest.fixture(scope="module")
def trained(modeling: Any, palmer: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default network, 5 epochs, saved as train saves it: model, light model, card."""
    x, y = palmer
    model = network(modeling, x)
    model.fit(x, y, epochs=5, verbose=0)
    return save_as_train(modeling, model, x, tmp_path_factory.mktemp("model") / "model.keras")


def save_as_train(modeling: Any, model: Any, x: np.ndarray, path: Path) -> Path:
    """``model`` saved at ``path`` as the train stage saves it: the Keras model, its light model and their card
    (ranges from ``x``); returns ``path``."""
    modeling.save_model(model, path)
    light_path = light.light_path_for(path)
    light_path.write_bytes(light.to_bytes(light.layers_of(model)))
    ranges = {f: (float(x[:, i].min()), float(x[:, i].max())) for i, f in enumerate(FEATURES)}
    card = ModelCard(features=FEATURES, target="species", classes=CLASSES, ranges=ranges)
    write_json(path.with_suffix(".json"), card.for_model(path, light_path).as_json())
    return path


def copy_of(trained: Path, tmp_path: Path) -> Path:
    for suffix in (".keras", ".json", ".safetensors"):
        (tmp_path / f"model{suffix}").write_bytes(trained.with_suffix(suffix).read_bytes())
    return tmp_path / "model.keras"


def test_predict_uses_the_light_model_and_keras_on_request(
    trained: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["--model", str(trained), "--csv", "-", "--json"]
    text = "\n".join([",".join(FEATURES), "39.1,18.7,181,3750", "46.5,17.9,192,3500", "50,15.2,218,5700"]) + "\n"
    status, out, err = cli(args, capsys, monkeypatch, text)
    assert (status, err) == (0, "")
    status, keras_out, err = cli([*args, "--keras"], capsys, monkeypatch, text)
    assert (status, err) == (0, "")
    light_doc, keras_doc = json.loads(out), json.loads(keras_out)
    assert [p["predicted"] for p in light_doc["predictions"]] == [p["predicted"] for p in keras_doc["predictions"]]
    gaps = [abs(a - b) for p, q in zip(light_doc["predictions"], keras_doc["predictions"], strict=True)
            for a, b in zip(p["probabilities"].values(), q["probabilities"].values(), strict=True)]  # fmt: skip
    assert max(gaps) <= light.AGREEMENT


def test_a_light_model_that_is_not_the_cards_is_refused(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = copy_of(trained, tmp_path)
    other = light.to_bytes(tiny_layers())
    light.light_path_for(model).write_bytes(other)
    status, out, err = cli(["--model", str(model), *PENGUIN], capsys, monkeypatch)
    assert (status, out) == (1, "")
    assert err.startswith(f"error: {tmp_path}/model.safetensors: not the light model of {model} (md5 ")
    assert "regenerate both with `dvc repro train`" in err and err.count("\n") == 1, err
    with pytest.raises(PipelineError, match="not the light model of"):  # evaluate's check, the same function
        check_card_belongs(ModelCard.model_validate_json(model.with_suffix(".json").read_text()), "c", model,
                           light.light_path_for(model))  # fmt: skip


def test_without_a_light_model_predict_says_so_and_uses_keras(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = copy_of(trained, tmp_path)
    light.light_path_for(model).unlink()
    status, out, err = cli(["--model", str(model), *PENGUIN], capsys, monkeypatch)
    assert status == 0 and out.splitlines()[1].split()[1] == "Adelie"
    assert err == (
        f"warning: {tmp_path}/model.safetensors: light model not found; predicting with Keras (seconds): "
        "regenerate it with `dvc repro train` (or `dvc checkout train` for the committed files)\n"
    )


@pytest.mark.parametrize("option", ["--model", "--card", "--light"])
@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_path_that_is_not_a_file_is_named_for_what_it_is(
    option: str,
    kind: str,
    trained: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--model models` (a directory) or a FIFO said "model file not found"; a FIFO must not hang predict."""
    (tmp_path / "m").mkdir()
    model = copy_of(trained, tmp_path / "m")
    odd = tmp_path / "odd"
    odd.mkdir() if kind == "directory" else os.mkfifo(odd)
    paths = {"--model": str(model), "--card": str(model.with_suffix(".json")), option: str(odd)}
    argv = [*(a for pair in paths.items() for a in pair), *PENGUIN]
    status, out, err = cli(argv, capsys, monkeypatch)
    what = {"directory": "a directory", "fifo": "a named pipe (FIFO)"}[kind]
    assert (status, out) == (1, "")
    assert err.startswith(f"error: {odd}: is {what}, not a ") and err.count("\n") == 1, err


def test_a_model_path_that_is_a_directory_is_said_before_its_card_is_looked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's `penguins-predict --model models`: not "model file not found", nor "models.json: not found"."""
    (tmp_path / "models").mkdir()
    monkeypatch.chdir(tmp_path)
    status, out, err = cli(["--model", "models", *PENGUIN], capsys, monkeypatch)
    assert (status, out) == (1, "")
    assert err == (
        f"error: {tmp_path}/models: is a directory, not a model file; run `dvc repro train` or pass another --model\n"
    )


# ---- predict: bounded input, and a feature that never varied ------------------------------------------


class Endless:
    """`yes 39.1,18.7,181,3750` after a header, as a text stream."""

    def read(self, size: int = -1) -> str:
        assert size > 0, "read without a bound: would never return"
        line = "39.1,18.7,181,3750\n"
        return ",".join(FEATURES) + "\n" + line * (size // len(line) + 1)


def test_endless_input_is_refused_in_one_line() -> None:
    with pytest.raises(PipelineError) as err:
        read_input("-", Endless(), limit=10_000)  # type: ignore[arg-type]
    assert str(err.value).startswith("stdin: more than 0.00953674 MiB of CSV; predict reads its whole input")
    assert BoundedText(io.StringIO("a\n1\n"), "x").read() == "a\n1\n"


def test_a_file_beyond_the_bound_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_text(",".join(FEATURES) + "\n" + "39.1,18.7,181,3750\n" * 1000)
    with pytest.raises(PipelineError, match=r"big.csv: 0 MiB, more than predict reads at once \(0.00953674 MiB\)"):
        read_input(str(big), io.StringIO(), limit=10_000)
    frame, _ = read_input(str(big), io.StringIO())
    assert len(frame) == 1000


def test_a_feature_that_never_varied_admits_that_value_only() -> None:
    """The issue's example: a constant feature (5 in every row), then --const 5.5 answered "Chinstrap 1.000"."""
    ranges = {"bill_length_mm": (32.1, 59.6), "const": (5.0, 5.0)}
    card = ModelCard(features=("bill_length_mm", "const"), target="species", classes=CLASSES, ranges=ranges)
    options = {"bill_length_mm": "--bill-length-mm", "const": "--const"}
    _, warnings = values_from_options({"bill_length_mm": 39.1, "const": 5.0}, card, options)
    assert warnings == []
    with pytest.raises(PipelineError) as err:
        values_from_options({"bill_length_mm": 39.1, "const": 5.5}, card, options)
    assert str(err.value) == (
        "--const value 5.5 cannot be predicted: const is 5 in every training row of the model, so it tells the "
        "model nothing and any other value gives an answer that means nothing; give 5, or retrain without const "
        "(data.features in params.yaml)"
    )


def test_a_feature_whose_spread_the_model_cannot_resolve_admits_the_values_seen_only() -> None:
    """(5.0, 5.000001) with --const 5.5 only warned ("outside 5 to 5") and gave a confident answer."""
    ranges = {"bill_length_mm": (32.1, 59.6), "const": (5.0, 5.000001)}
    card = ModelCard(features=("bill_length_mm", "const"), target="species", classes=CLASSES, ranges=ranges)
    options = {"bill_length_mm": "--bill-length-mm", "const": "--const"}
    assert values_from_options({"bill_length_mm": 39.1, "const": 5.0000005}, card, options)[1] == []
    with pytest.raises(PipelineError) as err:
        values_from_options({"bill_length_mm": 39.1, "const": 5.5}, card, options)
    assert str(err.value).startswith(
        "--const value 5.5 cannot be predicted: const spans only 5 to 5.000001 in the model's training rows, too "
        "little for the model to resolve, so it tells the model nothing"
    )
    # A spread the model resolves (Palmer's year: 2007 to 2009, 1e-3 of its size) is an ordinary feature.
    assert not near_constant(2007.0, 2009.0) and near_constant(2007.0, 2007.5) and near_constant(0.0, 0.0)
    assert span(5.0, 5.000001) == "5 to 5.000001" and span(32.1, 59.6) == "32.1 to 59.6"


def test_csv_output_is_what_pandas_wrote() -> None:
    """The CSV renderer (no pandas on the light path) writes what pandas' to_csv wrote, cell for cell."""
    values = np.array([[39.1, 1e-05, 1e16, 3750.0], [0.1, 123456789.125, -0.0, 2.5e-300]])
    probabilities = np.array([[0.9, 0.06, 0.04], [1e-8, 0.2, 0.79999999]], dtype="float32")
    for classes in (CLASSES, (1, 2, 3), ("a,b", 'q"uote', "plain")):
        result = result_table(values, probabilities, classes)
        table = pd.DataFrame(values, columns=list(FEATURES))
        table["predicted"] = np.asarray(classes, dtype=object)[probabilities.argmax(axis=1)]
        for i, name in enumerate(classes):
            table[f"prob_{name}"] = probabilities[:, i].astype("float64")
        table.insert(0, "row", range(1, 3))
        assert render_csv(result, FEATURES) == table.to_csv(index=False, lineterminator="\n")


def test_one_penguin_on_the_light_path_imports_neither_pandas_nor_tensorflow(trained: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "penguins.predict", "--model", str(trained), *PENGUIN],
        env=ENV, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1].split()[:2] == ["1", "Adelie"]
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "penguins" in imported and not imported & {"pandas", "tensorflow", "keras"}


def test_evaluate_stops_when_the_light_model_disagrees(tmp_path: Path) -> None:
    """evaluate's check (light.check_agreement) on a light model whose output layer was swapped: one line."""
    layers = tiny_layers()
    path = tmp_path / "model.safetensors"
    path.write_bytes(light.to_bytes(layers))
    x = np.random.default_rng(2).normal(size=(50, 2)).astype("float32")
    keras_probabilities = light.from_bytes(light.to_bytes(layers)).predict(x)
    light.check_agreement(keras_probabilities, x, path, Path("model.keras"), "test.csv")  # agrees: no error
    with pytest.raises(PipelineError) as err:
        light.check_agreement(keras_probabilities[:, ::-1].copy(), x, path, Path("model.keras"), "test.csv")
    assert str(err.value).startswith(
        f"{path}: does not give model.keras's probabilities on test.csv (another class on "
    )
    assert "predict with `penguins-predict --keras`" in str(err.value) and "\n" not in str(err.value)


def test_a_pipe_given_as_csv_is_read_as_a_stream(tmp_path: Path) -> None:
    """`--csv <(...)`: the shell hands predict /dev/fd/N, a pipe, not a regular file."""
    read_end, write_end = os.pipe()
    os.write(write_end, (",".join(FEATURES) + "\n39.1,18.7,181,3750\n").encode())
    os.close(write_end)
    try:
        frame, source = read_input(f"/dev/fd/{read_end}", io.StringIO())
    finally:
        os.close(read_end)
    assert (len(frame), source) == (1, f"/dev/fd/{read_end}")


def test_a_named_pipe_nobody_writes_to_is_one_line_not_a_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--csv FIFO` with no writer waited forever; a writer that comes is read."""
    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    monkeypatch.setattr(predict_input, "PIPE_WAIT", 0.2)
    with pytest.raises(PipelineError, match=r"in.csv: a named pipe nobody wrote to in 0.2 s; start its writer first"):
        read_input(str(fifo), io.StringIO())
    writer = subprocess.Popen(["sh", "-c", f"printf '{','.join(FEATURES)}\\n39.1,18.7,181,3750\\n' > '{fifo}'"])
    try:
        monkeypatch.setattr(predict_input, "PIPE_WAIT", 30.0)
        frame, _ = read_input(str(fifo), io.StringIO())
    finally:
        writer.wait(timeout=30)
    assert frame.to_numpy().tolist() == [[39.1, 18.7, 181, 3750]]


def test_non_finite_probabilities_are_refused_on_both_paths(
    modeling: Any, palmer: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An `exponential` hidden layer that overflows gave NaN probabilities as an answer, exit 0."""
    x, _ = palmer
    model = network(modeling, x, activation="exponential")
    hidden = next(layer for layer in model.layers if type(layer).__name__ == "Dense")
    kernel, bias = hidden.get_weights()
    hidden.set_weights([kernel * 1e3, bias])  # exp(thousands): inf, then inf - inf in the softmax
    path = save_as_train(modeling, model, x, tmp_path / "model.keras")
    light_path = light.light_path_for(path)
    text = ",".join(FEATURES) + "\n39.1,18.7,181,3750\n50,15.2,218,5700\n"
    for extra, shown in (([], light_path), (["--keras"], path)):
        status, out, err = cli(["--model", str(path), "--csv", "-", "--json", *extra], capsys, monkeypatch, text)
        assert (status, out) == (1, ""), err
        assert err.startswith(f"error: {shown}: outputs non-finite probabilities for row 1 (line 2 of the CSV)"), err
        assert err.count("\n") == 1


def test_light_and_keras_together_are_refused(
    trained: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--keras silently ignored --light."""
    light_path = light.light_path_for(trained)
    status, out, err = cli(
        ["--model", str(trained), "--light", str(light_path), "--keras", *PENGUIN], capsys, monkeypatch
    )
    assert (status, out) == (1, "")
    assert err == "error: give --light PATH or --keras, not both: --keras predicts with the Keras model itself\n"
