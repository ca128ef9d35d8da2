"""The report's pictures: DVC's Vega-Lite plots drawn offline as PNGs by vl-convert (as the matplotlib curves
are drawn), image plots embedded as data: URIs, each identical picture once."""

from __future__ import annotations

import base64
import copy
import mimetypes
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from penguins.errors import PipelineError
from penguins.paths import Paths

WORKSPACE = "workspace"
# Vega-Lite plots become PNGs drawn by vl-convert at VEGA_SCALE x and shown VEGA_ZOOM x their CSS size
# (Vega's default fonts are small). Not SVG: its text is laid out with vl-convert's font but drawn with
# the viewer's, and a wider viewer font clips legend labels.
VEGA_SCALE, VEGA_ZOOM = 2, 1.3


@dataclass(frozen=True)
class Picture:
    caption: str  # the revision(s) it shows
    uri: str  # data: URI
    width: int  # pixels, as shown


@dataclass(frozen=True)
class Plot:
    name: str  # the plot's id in dvc.yaml
    pictures: tuple[Picture, ...]


CONFUSION_PLOT = Paths.CONFUSION.as_posix()
# matplotlib's drawings of what the report already shows (as Vega charts, or as the headline's confusion
# matrix): one drawing of each thing. Still written by the pipeline, and shown by `dvc plots show`.
NOT_REPEATED = {
    "plots/training_curves.png": "Loss and Accuracy",
    "plots/confusion_heatmap.png": "the confusion matrix",
    CONFUSION_PLOT: "the confusion matrix",
}


# --------------------------------------------------------------------------------------------
# Rendering: Vega-Lite -> PNG offline, images -> data: URIs
# --------------------------------------------------------------------------------------------


def static_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A spec for a still picture: DVC's confusion template hides the counts behind a checkbox; show them."""
    still = copy.deepcopy(dict(spec))
    for param in still.get("params", []):
        if param.get("name") == "showValues":
            param["value"] = True
    return still


def vega_lite_version(spec: Mapping[str, Any], available: Iterable[str]) -> str | None:
    """The newest available Vega-Lite with the major version of the spec's $schema (None: the newest)."""
    match = re.search(r"/v(\d+)(?:\.[\d.]+)?\.json$", str(spec.get("$schema", "")))
    same_major = [v for v in available if match and v.split(".")[0] == match.group(1)]
    return max(same_major, key=lambda v: tuple(int(p) for p in v.split("."))) if same_major else None


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def png_width(data: bytes) -> int:
    """Pixel width from a PNG's header (0 if it is not a PNG)."""
    return int.from_bytes(data[16:20], "big") if data[:8] == b"\x89PNG\r\n\x1a\n" else 0


def render_vega(name: str, entry: Mapping[str, Any], revs: Sequence[str] = (WORKSPACE,)) -> list[Picture]:
    """One DVC Vega-Lite plot (all its revisions in one chart) as a PNG drawn offline by vl-convert."""
    import vl_convert as vlc

    spec = entry["content"]
    try:
        png = vlc.vegalite_to_png(
            readable_spec(static_spec(spec), revs),
            vl_version=vega_lite_version(spec, vlc.get_vegalite_versions()),
            scale=VEGA_SCALE,
            allowed_base_urls=[],  # the data is inline; never fetch anything
        )
    except Exception as exc:  # vl-convert raises ValueError with the JavaScript error on a later line
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
        reason = next((line.removeprefix("Error: ") for line in lines if line.startswith("Error:")), lines[0])
        raise PipelineError(f"plot {name!r}: vl-convert cannot render its Vega-Lite spec ({reason})") from None
    width = round(png_width(png) / VEGA_SCALE * VEGA_ZOOM)
    return [Picture(", ".join(entry.get("revisions", [])), data_uri(png, "image/png"), width)]


def embed_images(name: str, entries: Sequence[Mapping[str, Any]]) -> list[Picture]:
    """An image plot's revisions (files dvc wrote into the image dir) as data: URIs; identical ones once."""
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    revs_by_image: dict[bytes, list[str]] = {}
    for entry in entries:
        revs_by_image.setdefault(Path(entry["url"]).read_bytes(), []).extend(entry.get("revisions", []))
    return [Picture(", ".join(revs), data_uri(data, mime), png_width(data)) for data, revs in revs_by_image.items()]


def render_plots(shown: Mapping[str, Sequence[Mapping[str, Any]]], revs: Sequence[str] = (WORKSPACE,)) -> list[Plot]:
    """Every plot of `dvc plots show/diff --json` but those in NOT_REPEATED, in dvc.yaml order."""
    plots = []
    for name, entries in shown.items():
        if name in NOT_REPEATED:
            continue
        pictures = [p for e in entries if e.get("type") == "vega" for p in render_vega(name, e, revs)]
        pictures += embed_images(name, [e for e in entries if e.get("type") == "image"])
        if pictures:
            plots.append(Plot(name, tuple(pictures)))
    return plots


def readable_spec(spec: Mapping[str, Any], revs: Sequence[str]) -> dict[str, Any]:
    """DVC's linear plot of DVCLive's logs, drawn as the matplotlib curves are: epochs from 1, colour per
    series named train / validation (not eval/loss.tsv), a line style per revision only when there are several."""
    still = copy.deepcopy(dict(spec))
    files = sorted(
        {str(v.get("filename")) for v in still.get("data", {}).get("values", [])}, key=lambda f: "eval/" in f
    )
    if not all("train/" in f or "eval/" in f for f in files):
        return still  # not a DVCLive train/eval plot: as DVC made it
    still["transform"] = [{"calculate": "toNumber(datum.step) + 1", "as": "step"}, *still.get("transform", [])]
    series = {
        "field": "filename",
        "type": "nominal",
        "title": "series",
        "scale": {"domain": files, "range": [SERIES_COLOURS["eval/" in f] for f in files]},
        "legend": {"labelExpr": "indexof(datum.label, 'eval/') >= 0 ? 'validation' : 'train'", "symbolType": "stroke"},
    }
    dashes = {"field": "rev", "title": "revision", "scale": {"domain": list(revs), "range": DASHES[: len(revs)]},
              "legend": {"symbolType": "stroke", "symbolStrokeColor": "grey", "symbolSize": 500}}  # fmt: skip

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            encoding = node.get("encoding")
            if isinstance(encoding, dict):
                if (encoding.get("x") or {}).get("field") == "step":
                    encoding["x"].update(title="Epoch", scale={"zero": False, "nice": False})
                if (encoding.get("color") or {}).get("field") == "rev":
                    encoding["color"] = series if node is still else {"field": "filename", "type": "nominal"}
                if "strokeDash" in encoding:
                    encoding.pop("strokeDash")
                    if len(revs) > 1:
                        encoding["strokeDash"] = dashes
            for value in node.values():
                fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)

    fix(still)
    return still


SERIES_COLOURS = {False: "#1f77b4", True: "#ff7f0e"}  # train, validation: matplotlib's first two, as the PNG
DASHES = [[1, 0], [8, 4], [2, 3], [12, 3, 2, 3]]
