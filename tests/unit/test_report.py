"""tools/report/ without dvc: tables, Vega-Lite rendering offline, image embedding, the page itself."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib.image
import pytest

from penguins.errors import PipelineError
from tests.conftest import network_references
from tools.plots_page import page
from tools.repo.pipeline import flatten
from tools.report.page import (
    CSP,
    EMPTY,
    MAX_CLASSES,
    Row,
    Table,
    class_bound_note,
    format_value,
    headlines,
    report_html,
    values_table,
)
from tools.report.pictures import (
    Picture,
    Plot,
    embed_images,
    readable_spec,
    render_vega,
    static_spec,
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


def test_values_table_marks_differences() -> None:
    table = values_table(
        "metrics/m.json",
        {"workspace": {"accuracy": 0.97, "n": 69}, "exp-a": {"accuracy": 0.91, "n": 69, "extra": "x"}},
        ["workspace", "exp-a"],
    )
    assert table == Table(
        "metrics/m.json",
        (
            Row("accuracy", ("0.97", "0.91"), changed=True, numeric=True),
            Row("n", ("69", "69"), changed=False, numeric=True),
            Row("extra", (EMPTY, "x"), changed=True, numeric=False),
        ),
    )


def test_page_escapes_everything_it_shows() -> None:
    """Autoescaped template: a key, value, revision or problem holding markup is shown as text."""
    page = report_html(
        ["workspace", "<b>rev</b>"],
        [],
        {"metrics/<m>.json": {"workspace": {"a<b": "x&y"}}},
        {},
        ["<script>alert(1)</script>"],
    )
    assert "<caption>metrics/&lt;m&gt;.json</caption>" in page and '<th scope="row">a&lt;b</th>' in page
    assert "<td>x&amp;y</td>" in page and "<th>&lt;b&gt;rev&lt;/b&gt;</th>" in page
    assert "<li>&lt;script&gt;alert(1)&lt;/script&gt;</li>" in page and "<script" not in page


def test_headlines_count_the_confusion_matrix_of_each_revision() -> None:
    rows = [
        {"actual": a, "predicted": p, "count": str(n), "rev": "workspace"}
        for a, p, n in [("Adelie", "Adelie", 30), ("Adelie", "Gentoo", 1), ("Gentoo", "Gentoo", 25)]
    ]
    rows += [{"actual": "Adelie", "predicted": "Adelie", "rev": "old"}] * 2  # per-penguin rows, no count
    shown = {"plots/confusion.csv": [{"type": "vega", "content": {"data": {"values": rows}}}]}
    work, old = headlines(shown, ["workspace", "missing", "old"])
    assert (work.rev, work.correct, work.total, work.classes) == ("workspace", 55, 56, ("Adelie", "Gentoo"))
    assert work.matrix == ((30, 1), (0, 25)) and work.recall() == [("Adelie", 30, 31), ("Gentoo", 25, 25)]
    assert (old.rev, old.correct, old.total) == ("old", 2, 2)
    page = report_html(["workspace"], [], {}, {}, [], [work])
    assert '<p class="answer">55 of 56 test penguins correct</p>' in page
    assert "<li>Adelie: 30 of 31 recognised</li>" in page
    assert '<td class="hit">30</td><td class="miss">1</td>' in page


def test_the_page_is_bounded_in_classes_and_says_so() -> None:
    """1,000 classes made 19 MB of HTML (a 1000x1000 matrix, 4,000 per-class rows): at most MAX_CLASSES classes,
    those with the most test rows (as the figures stage's heatmap), said in the captions and in one line."""
    n, busy = 1000, {"c0007", "c0500", "c0999"}
    names = [f"c{i:04d}" for i in range(n)]
    rows = [
        {"actual": c, "predicted": c, "count": "9" if c in busy else "1", "rev": rev}
        for c in names
        for rev in ("workspace", "exp-a")
    ]
    rows.append({"actual": "c0001", "predicted": "c0002", "count": "1", "rev": "workspace"})
    shown = {"plots/confusion.csv": [{"type": "vega", "content": {"data": {"values": rows}}}]}
    results = headlines(shown, ["workspace", "exp-a"])
    work = results[0]
    assert (work.correct, work.total, work.of_classes) == (n + 3 * 8, n + 3 * 8 + 1, n)
    assert len(work.classes) == MAX_CLASSES and busy <= set(work.classes) and "c0001" in work.classes
    assert {c: s for c, _, s in work.recall()}["c0001"] == 2  # its whole row, also outside the classes shown
    per_class = {f"per_class.{c}.{m}": 9 if c in busy else 1 for c in names for m in ("f1", "recall", "support")}
    metrics = {"metrics/metrics.json": {"workspace": {"accuracy": 0.9, **per_class}, "exp-a": per_class}}
    page = report_html(["workspace", "exp-a"], [], metrics, {}, [], results)
    assert len(page) < 200_000, f"{len(page)} characters"
    assert page.count('<tr><th scope="row">c') == 2 * MAX_CLASSES  # two matrices
    assert page.count('<th scope="row">per_class.') == 3 * MAX_CLASSES
    assert '<th scope="row">per_class.c0500.f1</th>' in page and '<th scope="row">accuracy</th>' in page
    assert f"predicted; {MAX_CLASSES} of the 1000 classes, those with the most test rows)</caption>" in page
    assert f"(per_class: {MAX_CLASSES} of the 1000 classes, those with the most test rows;" in page
    note = class_bound_note(results, metrics)
    assert note and f"{MAX_CLASSES} of the 1000 classes" in note and "\n" not in note
    assert class_bound_note(results[:0], {"m.json": {"workspace": {"per_class.a.f1": 1.0}}}) is None


def test_readable_spec_names_series_and_counts_epochs_from_one() -> None:
    values = [{"step": "0", "loss": "1", "rev": r, "filename": f} for r in ("workspace", "HEAD")
              for f in ("eval/loss.tsv", "train/loss.tsv")]  # fmt: skip
    spec = {"data": {"values": values}, "encoding": {"x": {"field": "step", "title": "Epoch (DVCLive step, from 0)"},
            "color": {"field": "rev"}, "strokeDash": {"field": "filename"}},
            "layer": [{"mark": "line", "encoding": {"color": {"field": "rev", "type": "nominal"}}}]}  # fmt: skip
    one = readable_spec(spec, ["workspace"])
    assert one["transform"][0] == {"calculate": "toNumber(datum.step) + 1", "as": "step"}
    assert one["encoding"]["x"]["title"] == "Epoch" and "strokeDash" not in one["encoding"]
    assert one["encoding"]["color"]["scale"]["domain"] == ["train/loss.tsv", "eval/loss.tsv"]
    assert "validation" in one["encoding"]["color"]["legend"]["labelExpr"]
    assert one["layer"][0]["encoding"]["color"] == {"field": "filename", "type": "nominal"}  # as DVC's loess keeps
    two = readable_spec(spec, ["workspace", "HEAD"])
    assert two["encoding"]["strokeDash"]["field"] == "rev" and spec["encoding"]["color"] == {"field": "rev"}
    (picture,) = render_vega("Loss", {"type": "vega", "revisions": ["workspace", "HEAD"], "content": {
        **TINY_SPEC, **spec, "mark": "line"}}, ["workspace", "HEAD"])  # fmt: skip
    assert decode_png(picture.uri)[1] > 100


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
    assert '<a href="#results">Result</a><a href="#plots">Plots</a>' in page
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


def test_plots_page_refuses_a_bundle_it_cannot_inline() -> None:
    assert "{plot_divs}" in page("var x = 1;", "1.0") and "{scripts}" not in page("var x = 1;", "1.0")
    with pytest.raises(PipelineError, match=r"vl-convert 1.0's JavaScript bundle contains '</script'"):
        page("s = '</SCRIPT>';", "1.0")
