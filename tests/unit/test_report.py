"""tools/report.py without dvc: tables, Vega-Lite rendering offline, image embedding, the page itself."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib.image
import pytest

from penguins.errors import PipelineError
from tests.conftest import network_references
from tools.repo.pipeline import flatten
from tools.report import (
    CSP,
    EMPTY,
    Picture,
    Plot,
    embed_images,
    format_value,
    render_vega,
    report_html,
    static_spec,
    values_table,
    vega_lite_version,
)

TINY_SPEC = {
    "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
    "title": "tiny",
    "data": {"values": [{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.5}]},
    "mark": "line",
    "encoding": {"x": {"field": "epoch", "type": "quantitative"}, "y": {"field": "loss", "type": "quantitative"}},
}


def decode_png(uri: str) -> tuple[int, int]:
    """(height, width) of the PNG in a data: URI, decoded by matplotlib (fails if it is not a PNG)."""
    assert uri.startswith("data:image/png;base64,")
    pixels = matplotlib.image.imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])), format="png")
    return pixels.shape[0], pixels.shape[1]


def test_flatten_and_format_values() -> None:
    nested = {"accuracy": 0.9, "per_class": {"Adelie": {"f1": 1.0}}, "n": 3}
    assert flatten(nested) == {"accuracy": 0.9, "per_class.Adelie.f1": 1.0, "n": 3}
    values = (0.0930531, 69, True, None, ["a", 0.5], "relu")
    assert [format_value(v) for v in values] == ["0.093053", "69", "true", "null", "[a, 0.5]", "relu"]


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ("https://vega.github.io/schema/vega-lite/v5.json", "5.21"),
        (".../vega-lite/v6.1.0.json", "6.4"),
        (".../v4.json", None),
        ("", None),
    ],
)
def test_vega_lite_version_keeps_the_specs_major_version(schema: str, expected: str | None) -> None:
    assert vega_lite_version({"$schema": schema}, ["5.8", "5.21", "5.14", "6.1", "6.4"]) == expected


def test_static_spec_shows_confusion_counts_without_touching_the_input() -> None:
    spec = {"params": [{"name": "showValues", "bind": {"input": "checkbox"}}, {"name": "smooth", "value": 0.001}]}
    still = static_spec(spec)
    assert still["params"][0]["value"] is True and "value" not in spec["params"][0]
    assert still["params"][1] == {"name": "smooth", "value": 0.001}


def test_values_table_marks_differences_and_escapes() -> None:
    table = values_table(
        "metrics/<m>.json",
        {"workspace": {"accuracy": 0.97, "n": 69}, "exp-a": {"accuracy": 0.91, "n": 69, "extra": "x"}},
        ["workspace", "exp-a"],
    )
    assert "<caption>metrics/&lt;m&gt;.json</caption>" in table
    assert (
        '<tr class="changed"><th scope="row">accuracy</th><td class="num">0.97</td><td class="num">0.91</td></tr>'
        in table
    )
    assert '<tr><th scope="row">n</th><td class="num">69</td><td class="num">69</td></tr>' in table
    assert f'<tr class="changed"><th scope="row">extra</th><td>{EMPTY}</td><td>x</td></tr>' in table


def test_render_vega_offline_to_png() -> None:
    (picture,) = render_vega("Loss", {"type": "vega", "revisions": ["workspace", "exp-a"], "content": TINY_SPEC})
    assert picture.caption == "workspace, exp-a"
    height, width = decode_png(picture.uri)
    assert width > 100 and height > 100
    assert picture.width == round(width / 2 * 1.3)  # drawn at 2x, shown 1.3x its CSS size


def test_render_vega_never_fetches_external_data() -> None:
    spec = {**TINY_SPEC, "data": {"url": "https://example.com/history.csv"}}
    with pytest.raises(PipelineError, match=r"plot 'Loss': vl-convert cannot render .*External data url not allowed"):
        render_vega("Loss", {"type": "vega", "revisions": ["workspace"], "content": spec})


def test_identical_images_of_several_revisions_are_shown_once(tmp_path: Path) -> None:
    png = (Path(__file__).resolve().parents[2] / "plots/confusion_heatmap.png").read_bytes()
    for name, data in [("a.png", png), ("b.png", png), ("c.png", png + b"changed")]:
        (tmp_path / name).write_bytes(data)
    entries = [
        {"type": "image", "revisions": [rev], "url": str(tmp_path / f)}
        for rev, f in [("workspace", "a.png"), ("main", "b.png"), ("exp-a", "c.png")]
    ]
    pictures = embed_images("plots/confusion_heatmap.png", entries)
    assert [p.caption for p in pictures] == ["workspace, main", "exp-a"]
    assert decode_png(pictures[0].uri)[1] == pictures[0].width > 0


def test_page_has_a_strict_policy_and_no_network_reference() -> None:
    uri = "data:image/png;base64,AAAA"
    page = report_html(
        ["workspace", "exp-a"],
        [
            Plot("plots/pairplot.png", (Picture("workspace", uri, 900),)),
            Plot("Loss", (Picture("workspace, exp-a", uri, 500),)),
        ],
        {"metrics/metrics.json": {"workspace": {"accuracy": 0.97}, "exp-a": {"accuracy": 0.9}}},
        {"params.yaml": {"workspace": {"fetch.url": "https://example.com/penguins.csv"}}},
        ["exp-a: dvclive/metrics.json: missing"],
    )
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert "default-src 'none'" in CSP and "script-src" not in CSP
    assert network_references(page) == []
    assert '<section class="card wide" id="plot-1">' in page and '<section class="card" id="plot-2">' in page
    assert '<a href="#plot-2">Loss</a>' in page
    assert "<li>exp-a: dvclive/metrics.json: missing</li>" in page
    assert "Rows whose values differ between revisions are highlighted." in page


@pytest.mark.parametrize(
    "snippet",
    [
        '<img src="https://cdn.example/vega.js">',
        "<link rel=stylesheet href=//cdn.example/x.css>",
        "<script src='http://cdn.example/vega.js'></script>",
        "<style>@import 'x.css';</style>",
        "<div style=\"background: url('https://x/y.png')\"></div>",
        '<img srcset="x.png 2x">',
    ],
)
def test_network_reference_check_catches_what_it_should(snippet: str) -> None:
    assert network_references(f"<p>ok</p>{snippet}<td>https://shown.as/text</td>")
