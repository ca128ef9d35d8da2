"""The light model: the trained network's weights in one small file, and its forward pass in NumPy.

penguins-predict answers from it in a fraction of a second, where loading the Keras model imports TensorFlow
(seconds, ~600 MB). train writes it beside models/model.keras, the card binds its md5, and evaluate proves on the
test rows that it gives the Keras model's probabilities (same class on every row, max |difference| <= AGREEMENT);
why NumPy rather than LiteRT or ONNX: docs/benchmarks.md (light inference).

The file is a safetensors file (https://huggingface.co/docs/safetensors: an 8-byte little-endian header length,
a JSON header naming each tensor's dtype, shape and byte offsets, then the raw little-endian float32 data), read
and written here with the standard library and NumPy: no code in it, nothing unpickled, every size checked before
anything is allocated. Its ``__metadata__`` lists the layers in order: what this module can compute is exactly
what params.yaml can build (an optional Normalization, Dense layers with any activation of
penguins.params.Activation, a softmax output); anything else is refused by the export, in one line.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import numpy as np

from penguins.errors import PipelineError
from penguins.params import CLASSES_MAX, LAYERS_MAX, UNITS_MAX, Activation
from penguins.paths import resolve

FORMAT = "penguins-light"
VERSION = "1"
SUFFIX = ".safetensors"
AGREEMENT = 1e-5  # largest |probability difference| from the Keras model that evaluate accepts
KERAS_EPSILON = 1e-7  # keras.backend.epsilon(): Normalization divides by max(sqrt(variance), this)
MAX_BYTES = 256 * 2**20  # the largest network params.yaml allows (8 x 1024 units) is ~34 MB of float32
MAX_HEADER = 2**20
MAX_LAYERS = 1 + LAYERS_MAX + 1  # what params.yaml builds: a Normalization, the hidden layers, the output
HIDDEN_ACTIVATIONS: tuple[str, ...] = get_args(Activation)
TENSORS = {"Normalization": ("mean", "variance"), "Dense": ("kernel", "bias")}  # a Dense layer's bias is optional
ROWS_PER_STEP = 2**22  # rows x widest layer per step of the forward pass: bounded memory for any input size

SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -x))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # exact and vectorized (np.vectorize(math.erf): 95 s for 100k rows); ~0.4 s import

    return 0.5 * x * (1.0 + erf(x / np.float32(math.sqrt(2.0))))


# Keras 3's definitions (keras.activations), in the input's float type; tests/unit/test_predict_light.py checks
# each on Keras.
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: np.maximum(x, 0.0),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),  # Keras' default negative_slope
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
    "gelu": _gelu,  # exact (approximate=False), as Keras
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "sigmoid": _sigmoid,
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "tanh": np.tanh,
    "softplus": _softplus,
    "softsign": lambda x: x / (np.abs(x) + 1.0),
    "exponential": np.exp,
    "linear": lambda x: x,
    "softmax": lambda x: (e := np.exp(x - x.max(axis=1, keepdims=True))) / e.sum(axis=1, keepdims=True),
}


@dataclass(frozen=True)
class Layer:
    """One step of the forward pass: Normalization (tensors mean, variance) or Dense (kernel, bias, activation)."""

    kind: str
    name: str
    tensors: dict[str, np.ndarray]
    activation: str = "linear"


@dataclass(frozen=True)
class LightModel:
    layers: tuple[Layer, ...]

    @property
    def n_inputs(self) -> int:
        first = self.layers[0]
        return int(first.tensors["kernel" if first.kind == "Dense" else "mean"].shape[0])

    @property
    def n_outputs(self) -> int:
        return int(self.layers[-1].tensors["kernel"].shape[1])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (float32, as Keras returns them) for every row of ``x``, in steps of bounded size."""
        x = np.asarray(x, dtype=np.float32)
        widest = max(t.shape[-1] for layer in self.layers for t in layer.tensors.values())
        step = max(1, ROWS_PER_STEP // widest)
        parts = [self._forward(x[start : start + step]) for start in range(0, len(x), step)]
        return np.concatenate(parts) if parts else np.zeros((0, self.n_outputs), dtype=np.float32)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        # In float32, as Keras computes: on inputs far outside the training rows (logits in the thousands),
        # float64 differs from Keras by up to 5e-4, float32 by ~1e-7 (docs/benchmarks.md).
        h = x
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow gives inf or NaN, as in Keras
            for layer in self.layers:
                t = layer.tensors
                if layer.kind == "Normalization":
                    h = (h - t["mean"]) / np.maximum(np.sqrt(t["variance"]), np.float32(KERAS_EPSILON))
                else:
                    h = h @ t["kernel"]
                    if "bias" in t:
                        h = h + t["bias"]
                    h = ACTIVATIONS[layer.activation](h).astype(np.float32, copy=False)
        return h


# --------------------------------------------------------------------------------------------
# Export (train): a Keras model's layers -> the file's bytes
# --------------------------------------------------------------------------------------------


def layers_of(model: Any) -> list[Layer]:
    """The layers of a Keras model built by penguins.modeling.build_model, as NumPy; anything the forward pass
    does not compute (another layer, an inverted or per-axis Normalization, a non-float32 layer) is refused."""
    layers = []
    for layer in model.layers:
        kind, config = type(layer).__name__, layer.get_config()
        if kind == "InputLayer":
            continue
        weights = [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]
        policy = config.get("dtype")
        dtype = policy.get("config", {}).get("name") if isinstance(policy, dict) else policy
        if dtype not in (None, "float32"):
            raise PipelineError(f"layer {layer.name}: dtype {dtype}; the light model computes float32 layers only")
        if kind == "Normalization" and not config.get("invert") and tuple(config.get("axis") or ()) == (-1,):
            layers.append(Layer(kind, layer.name, {"mean": weights[0].ravel(), "variance": weights[1].ravel()}))
        elif kind == "Dense" and config.get("activation") in ACTIVATIONS:
            tensors = {"kernel": weights[0]} | ({"bias": weights[1]} if config.get("use_bias", True) else {})
            layers.append(Layer(kind, layer.name, tensors, config["activation"]))
        else:
            raise PipelineError(
                f"layer {layer.name}: the light model has no {kind} layer with "
                f"{json.dumps(config, default=str)[:200]}; it computes a Normalization and Dense layers (the networks "
                "params.yaml builds)"
            )
    return layers


def to_bytes(layers: Sequence[Layer]) -> bytes:
    """The safetensors file of ``layers``: the same bytes for the same weights (sorted keys, tensors in layer
    order, the header padded with spaces to 8 bytes as the format recommends)."""
    header: dict[str, Any] = {}
    data, offset = [], 0
    for layer in layers:
        for key, tensor in layer.tensors.items():
            raw = np.ascontiguousarray(tensor, dtype="<f4").tobytes()
            header[f"{layer.name}.{key}"] = {
                "dtype": "F32",
                "shape": list(tensor.shape),
                "data_offsets": [offset, offset + len(raw)],
            }
            data.append(raw)
            offset += len(raw)
    spec = [{"kind": layer.kind, "name": layer.name, "activation": layer.activation} for layer in layers]
    header["__metadata__"] = {"format": FORMAT, "version": VERSION, "layers": json.dumps(spec)}
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(data)


# --------------------------------------------------------------------------------------------
# Load (predict, evaluate): bounded and safe
# --------------------------------------------------------------------------------------------


def light_path_for(model: Path) -> Path:
    """The light model train writes beside a Keras model: models/model.keras -> models/model.safetensors."""
    return model.with_suffix(SUFFIX)


def quoted(value: Any, limit: int = 60) -> str:
    """Text from the file, for a one-line message: repr (a newline or an escape code is shown, not obeyed), cut."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def from_bytes(raw: bytes) -> LightModel:
    """Parse the file's bytes; ValueError (its one-line reason) for anything that is not a light model.

    Every count, shape and offset is checked on the header before any tensor is made, and the tensors are views
    of ``raw`` (no copy where float32 is little-endian): memory stays within the file's size whatever it says."""
    if len(raw) < 8:
        raise ValueError(f"{len(raw)} bytes, too short for a safetensors file")
    (size,) = struct.unpack("<Q", raw[:8])
    if size > MAX_HEADER or 8 + size > len(raw):
        raise ValueError(f"a header of {size} bytes in a file of {len(raw)} bytes: truncated or not safetensors")
    try:
        header = json.loads(raw[8 : 8 + size])
        meta = header.pop("__metadata__")
        spec = json.loads(meta["layers"]) if meta.get("format") == FORMAT else None
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):  # RecursionError: [[[[...]]]]
        raise ValueError("its header is not a light model's (JSON with __metadata__.format penguins-light)") from None
    if spec is None or meta.get("version") != VERSION:
        raise ValueError(
            f"format {quoted(meta.get('format'))} version {quoted(meta.get('version'))}, not {FORMAT} {VERSION}"
        )
    layers = _layers(spec)
    shapes = _shapes(layers, header)
    data = memoryview(raw)[8 + size :]
    begins = _offsets(header, shapes, len(data))
    tensors = {
        name: np.frombuffer(data, dtype="<f4", count=math.prod(shape), offset=begins[name])
        .reshape(shape)
        .astype(np.float32, copy=False)  # a no-op where float32 is little-endian
        for name, shape in shapes.items()
    }
    return LightModel(
        tuple(
            Layer(kind, name, {k: t for k in TENSORS[kind] if (t := tensors.get(f"{name}.{k}")) is not None}, act)
            for kind, name, act in layers
        )
    )


def _layers(spec: Any) -> list[tuple[str, str, str]]:
    """The layer list, checked: an optional Normalization first, at most LAYERS_MAX hidden Dense layers with an
    activation params.yaml allows, a softmax Dense output; each layer named once."""
    if not isinstance(spec, list) or not 1 <= len(spec) <= MAX_LAYERS:
        raise ValueError(f"{len(spec) if isinstance(spec, list) else 'no list of'} layers; a light model has 1 to "
                         f"{MAX_LAYERS} (a Normalization, {LAYERS_MAX} hidden layers, the output)")  # fmt: skip
    layers: list[tuple[str, str, str]] = []
    for i, entry in enumerate(spec):
        kind, name, activation = (
            (entry.get(k) for k in ("kind", "name", "activation")) if isinstance(entry, dict) else (None, None, None)
        )
        if (
            not isinstance(kind, str)
            or kind not in TENSORS
            or not isinstance(name, str)
            or name in (n for _, n, _ in layers)
        ):
            raise ValueError(
                f"layer {quoted(entry)}: only Normalization and Dense layers, each named once, are computed"
            )
        last = i == len(spec) - 1
        allowed = ("linear",) if kind == "Normalization" else ("softmax",) if last else HIDDEN_ACTIVATIONS
        if not isinstance(activation, str) or activation not in allowed:
            raise ValueError(
                f"layer {quoted(name)}: activation {quoted(activation)}; this layer takes {'/'.join(allowed)}"
            )
        if (kind == "Normalization" and i != 0) or (kind != "Dense" and last):
            raise ValueError(f"layer {quoted(name)}: a Normalization can only come first, and the output is Dense")
        layers.append((kind, name, activation))
    return layers


def _shapes(layers: list[tuple[str, str, str]], header: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Each tensor the layers use and its shape, checked: float32; mean, variance, bias vectors and kernel matrices;
    each layer taking the width the one before gives; hidden layers within params.yaml's bounds."""
    shapes: dict[str, tuple[int, ...]] = {}
    width = None
    for i, (kind, name, _) in enumerate(layers):
        for key in TENSORS[kind]:
            entry = header.get(f"{name}.{key}")
            if entry is None and key == "bias":
                continue
            shape = entry.get("shape") if isinstance(entry, dict) else None
            if not (isinstance(shape, list) and all(type(n) is int and n >= 1 for n in shape)):  # no bool, no float
                raise ValueError(f"layer {quoted(name)}: tensor {quoted(f'{name}.{key}')} missing or not a safetensors "
                                 "entry (dtype, shape of positive integers, data_offsets)")  # fmt: skip
            if entry.get("dtype") != "F32":
                raise ValueError(f"tensor {quoted(f'{name}.{key}')}: dtype {quoted(entry.get('dtype'))}, not F32")
            shapes[f"{name}.{key}"] = tuple(shape)
        found = [shapes.get(f"{name}.{key}") for key in TENSORS[kind]]
        width = width if width is not None else found[0][0] if found[0] else None  # type: ignore[index]
        if kind == "Normalization":
            expected: list[tuple[int, ...] | None] = [(width,), (width,)]  # type: ignore[list-item]
        else:
            out = found[0][-1] if found[0] else 0
            expected = [(width, out), (out,) if found[1] is not None else None]  # type: ignore[list-item]
            limit = UNITS_MAX if i < len(layers) - 1 else CLASSES_MAX
            if not 1 <= out <= limit:
                raise ValueError(f"layer {quoted(name)}: {out} units, at most {limit} accepted")
            width = out
        if found != expected:
            shown_shapes = ", ".join(str(list(s)) for s in found if s is not None)
            raise ValueError(f"layer {quoted(name)}: shapes {shown_shapes} do not follow a width of {expected[0][0]}")  # type: ignore[index]
    return shapes


def _offsets(header: dict[str, Any], shapes: dict[str, tuple[int, ...]], size: int) -> dict[str, int]:
    """Each tensor's first byte, checked by safetensors' rule: the header names exactly the tensors used, their
    byte ranges fit their shapes and, sorted, follow each other from 0 to the end of the data (no alias, no gap)."""
    unused = sorted(set(header) - set(shapes))
    if unused:
        raise ValueError(f"tensor {quoted(unused[0])}: not used by any layer ({len(unused)} such)")
    spans = []
    for name, shape in shapes.items():
        offsets = header[name].get("data_offsets")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(n) is int for n in offsets)):
            raise ValueError(f"tensor {quoted(name)}: data_offsets {quoted(offsets)}, not [begin, end]")
        if offsets[1] - offsets[0] != 4 * math.prod(shape):
            raise ValueError(f"tensor {quoted(name)}: {offsets[1] - offsets[0]} bytes for shape {list(shape)}")
        spans.append((offsets[0], offsets[1], name))
    end = 0
    for begin, stop, name in sorted(spans):
        if begin != end:
            raise ValueError(f"tensor {quoted(name)}: begins at byte {begin} of the data, not {end} (overlap or gap)")
        end = stop
    if end != size:
        raise ValueError(f"the tensors cover {end} bytes of data, the file has {size}")
    return {name: begin for begin, _, name in spans}


def read_light(path: Path, shown: str, regenerate: str) -> LightModel:
    """The light model in ``path`` (already known to be a regular file), read whole once its size is known to be
    bounded; every problem is one line naming ``shown`` and ending with ``regenerate``."""
    try:
        size = path.stat().st_size
    except OSError as exc:  # evaluate run by hand after the file was deleted
        raise PipelineError(f"{shown}: cannot be read ({exc.strerror or type(exc).__name__}); {regenerate}") from None
    if size > MAX_BYTES:
        raise PipelineError(
            f"{shown}: {size / 2**20:.0f} MiB, more than a light model of this project ({MAX_BYTES // 2**20} MiB at "
            f"most); {regenerate}"
        )
    try:
        return from_bytes(path.read_bytes())
    except ValueError as exc:
        raise PipelineError(f"{shown}: not a light model ({exc}); {regenerate}") from None
    except (TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as exc:  # a check missed
        raise PipelineError(
            f"{shown}: not a light model (malformed header: {type(exc).__name__}); {regenerate}"
        ) from None


def check_agreement(keras: np.ndarray, x: np.ndarray, light: Path, model: Path, rows: str) -> None:
    """evaluate's proof that the light model is the Keras model: its probabilities on the same rows (``x``, from
    the file ``rows``) agree with Keras' (``keras``), else one line and a non-zero exit."""
    regenerate = "regenerate it with `dvc repro train`"
    found = disagreement(keras, read_light(resolve(light), str(light), regenerate).predict(x))
    if found:
        raise PipelineError(
            f"{light}: does not give {model}'s probabilities on {rows} ({found}); {regenerate}, and if it persists "
            "the light path does not compute this network as Keras does: predict with `penguins-predict --keras`"
        )


def disagreement(keras: np.ndarray, light: np.ndarray) -> str | None:
    """Why the light model's probabilities are not the Keras model's on the same rows, or None: another class on
    any row, or a probability further than AGREEMENT from Keras'."""
    if keras.shape != light.shape:
        return f"{light.shape[1]} outputs per row, the Keras model has {keras.shape[1]}"
    other = np.flatnonzero(keras.argmax(axis=1) != light.argmax(axis=1))
    if other.size:
        return f"another class on {other.size} rows (the first: row {other[0] + 1})"
    gap = float(np.max(np.abs(keras.astype(np.float64) - light), initial=0.0))
    if not gap <= AGREEMENT:
        return f"probabilities differ by up to {gap:.3g} (at most {AGREEMENT:g} accepted)"
    return None
