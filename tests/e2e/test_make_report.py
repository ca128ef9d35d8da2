"""End-to-end: `python -m tools.report` on the real pipeline, and the page in a real, offline Chromium."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.conftest import BIN, network_references, run
from tools.repo.clones import clone_worktree
from tools.repo.run import ENV

pytestmark = pytest.mark.e2e

# dvc.yaml's plots, each thing drawn once: matplotlib's training curves and confusion heatmap are the Vega
# charts' and the headline's twins, named under the plots instead.
PLOTS = ["plots/pairplot.png", "Loss", "Accuracy"]
NOT_REPEATED = ["plots/training_curves.png", "plots/confusion_heatmap.png", "plots/confusion.csv"]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")  # as in the Makefile
WINDOW_WIDTH = 1400
# Headless, and no way out: unresolvable hosts, a proxy to a closed port, no background requests.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--force-device-scale-factor=1", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
]  # fmt: skip
# Injected into a copy of the page (whose policy then also allows inline scripts): once everything has
# loaded, record each picture's decoded size and place, and the page height, on the <html> element.
PROBE = """<script>addEventListener("load", () => {
  const pictures = [...document.images].map((img) => {
    const box = img.getBoundingClientRect();
    return {alt: img.alt, natural: img.naturalWidth,
            x: box.left + scrollX, y: box.top + scrollY, w: box.width, h: box.height};
  });
  document.documentElement.dataset.probe = JSON.stringify({height: document.documentElement.scrollHeight, pictures});
});</script>"""


def make_report(repo: Path, output: Path, *revs: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "python"), "-m", "tools.report", *revs, "-o", str(output)], cwd=repo, check=check)


@pytest.fixture(scope="module")
def report(pipeline: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`-o DIR`, an existing directory: the page is DIR/index.html (one report for every test that reads it)."""
    directory = tmp_path_factory.mktemp("report")
    proc = make_report(pipeline["repo"], directory)
    output = directory / "index.html"
    return {"dir": directory, "path": output, "page": output.read_text(), "stdout": proc.stdout, "stderr": proc.stderr}


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium binary; missing: skip with the reason, but fail under CI=true (make test installs it)."""
    names = [os.environ.get("CHROMIUM", "chromium"), *BROWSERS]
    for name in names:
        if path := shutil.which(name):
            return path
    found = ", ".join(dict.fromkeys(names))
    reason = f"none of {found} found: the browser test needs one (as root `make test` installs chromium)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def browse(chromium: str, page: Path, profile: Path, height: int, *action: str) -> subprocess.CompletedProcess[str]:
    """Load ``page`` in headless Chromium with a fresh profile and no network, doing ``action``."""
    cmd = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW_WIDTH},{height}",
        *action,
        page.as_uri(),
    ]
    return subprocess.run(
        cmd, env=ENV, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120, check=False
    )


def console_problems(stderr: str) -> list[str]:
    """Console messages about blocked or failed loads (CSP violations, network errors)."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "net::ERR" in line]


def test_report_leads_with_the_answer(pipeline: dict[str, Any], report: dict[str, Any]) -> None:
    """The headline (N of M test penguins, recall per species, the confusion matrix) comes before any plot or
    table, and agrees with metrics/metrics.json."""
    page = report["page"]
    metrics = json.loads((pipeline["repo"] / "metrics/metrics.json").read_text())
    n = metrics["n_test"]
    answer = f'<p class="answer">{round(metrics["accuracy"] * n)} of {n} test penguins correct</p>'
    assert page.index(answer) < page.index('id="plot-1"') < page.index("<caption>metrics/metrics.json</caption>")
    for name, per_class in metrics["per_class"].items():
        hits = round(per_class["recall"] * per_class["support"])
        assert f"<li>{name}: {hits} of {per_class['support']} recognised</li>" in page
    matrix = re.search(r'<table class="confusion">.*?</table>', page, flags=re.S).group(0)
    cells = [int(c) for c in re.findall(r"<td[^>]*>(\d+)</td>", matrix)]
    assert len(cells) == 9 and sum(cells) == n and sum(cells[::4]) == round(metrics["accuracy"] * n)


def test_report_lists_every_plot_and_metric(report: dict[str, Any]) -> None:
    assert report["stdout"].startswith("wrote ") and "3 plots, 1 revision(s)" in report["stdout"]
    assert report["stderr"] == ""  # no warning: the pipeline is reproduced
    page = report["page"]
    assert re.findall(r'<section class="card[^"]*" id="plot-\d+"><h3>([^<]+)</h3>', page) == PLOTS
    assert all(f"<code>{name}</code>" in page for name in NOT_REPEATED)
    assert ">rev<" not in page and "eval/loss.tsv" not in page
    for caption in ("metrics/metrics.json", "dvclive/metrics.json", "metrics/data_summary.json", "params.yaml"):
        assert f"<caption>{caption}</caption>" in page
    assert (
        '<th scope="row">accuracy</th>' in page and '<th scope="row">rows_complete</th><td class="num">342</td>' in page
    )


def test_report_is_self_contained(report: dict[str, Any]) -> None:
    page = report["page"]
    assert network_references(page) == []
    assert "Content-Security-Policy\" content=\"default-src 'none'; img-src data:;" in page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) == len(PLOTS) and all(src.startswith("data:image/png;base64,") for src in images)
    assert "<script" not in page and "<link" not in page and "<iframe" not in page


def test_report_renders_offline_in_chromium(chromium: str, report: dict[str, Any], tmp_path: Path) -> None:
    """Every picture decodes in a real browser with the network off, and shows up non-blank on screen."""
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(
        report["page"]
        .replace("img-src data:;", "img-src data:; script-src 'unsafe-inline';", 1)
        .replace("</body>", PROBE + "</body>", 1)
    )
    dom = browse(chromium, probe_page, tmp_path / "profile-dom", 2000, "--dump-dom")
    match = re.search(r'data-probe="([^"]*)"', dom.stdout)
    assert match, f"page did not finish loading\n{dom.stderr[-2000:]}"
    probe = json.loads(html.unescape(match.group(1)))
    assert console_problems(dom.stderr) == []
    assert len(probe["pictures"]) == len(PLOTS)
    assert all(p["natural"] > 0 for p in probe["pictures"]), probe["pictures"]  # decoded by the browser

    shot = tmp_path / "report.png"
    screen = browse(chromium, report["path"], tmp_path / "profile-shot", probe["height"], f"--screenshot={shot}")
    assert shot.is_file(), screen.stderr[-2000:]
    assert console_problems(screen.stderr) == []
    rgb = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    assert rgb.shape[:2] == (probe["height"], WINDOW_WIDTH)
    for picture in probe["pictures"]:
        assert picture["w"] >= 300 and picture["h"] >= 250, picture  # a readable size on screen
        x, y, w, h = (round(picture[k]) for k in ("x", "y", "w", "h"))
        region = rgb[y : y + h, x : x + w]
        drawn = (region.min(axis=2) < 245).mean()  # not white: axes, grid, text, marks (line plots ~7%)
        coloured = (region.max(axis=2) - region.min(axis=2) > 60).mean()  # the data's colours (lines ~1%)
        assert 0.05 < drawn < 0.9 and coloured > 0.005, (picture["alt"], drawn, coloured)


def test_report_compares_an_experiment_by_name(chromium: str, pipeline_copy: Path, tmp_path: Path) -> None:
    """An experiment that changed the pairplot: shown beside the workspace, identical pictures once; at three
    revisions the page still fits 1,400 px (long params such as fetch.url wrap)."""
    run([str(BIN / "dvc"), "exp", "run", "explore", "-n", "three-features", "-S",
         "data.features=[bill_length_mm,bill_depth_mm,flipper_length_mm]"], cwd=pipeline_copy)  # fmt: skip
    proc = make_report(pipeline_copy, tmp_path / "report.html", "three-features", "HEAD")
    page = (tmp_path / "report.html").read_text()
    assert "3 plots, 3 revision(s)" in proc.stdout
    assert (
        "warning: workspace: not reproduced, `dvc status` lists clean, encode" in proc.stderr
    )  # the exp ran explore only
    cards = dict(re.findall(r'<h3>([^<]+)</h3><div class="pictures">(.*?)</div></section>', page))
    captions = {name: re.findall(r"<figcaption>([^<]*)</figcaption>", card) for name, card in cards.items()}
    assert captions["plots/pairplot.png"] == ["workspace, three-features", "HEAD"]
    assert captions["Loss"] == ["workspace, three-features, HEAD"]
    assert re.findall(r'<section class="card result" id="result-\d">\s*<h3>([^<]+)</h3>', page) == [
        "workspace", "three-features", "HEAD"
    ]  # fmt: skip
    assert '<tr class="changed"><th scope="row">data.features</th>' in page
    assert network_references(page) == []

    probe_page = tmp_path / "probe.html"
    probe_page.write_text(
        page.replace("img-src data:;", "img-src data:; script-src 'unsafe-inline';", 1).replace(
            "</body>", WIDTH_PROBE + "</body>", 1
        )
    )
    dom = browse(chromium, probe_page, tmp_path / "profile", 1000, "--dump-dom")
    match = re.search(r'data-probe="([^"]*)"', dom.stdout)
    assert match, f"page did not finish loading\n{dom.stderr[-2000:]}"
    widths = json.loads(html.unescape(match.group(1)))
    assert widths["page"] <= WINDOW_WIDTH and widths["params"] <= WINDOW_WIDTH, widths  # no horizontal scroll


# The page's full width and the params table's right edge, at WINDOW_WIDTH.
WIDTH_PROBE = """<script>addEventListener("load", () => {
  const params = [...document.querySelectorAll("caption")].find((c) => c.textContent === "params.yaml").parentElement;
  document.documentElement.dataset.probe = JSON.stringify({
    page: document.documentElement.scrollWidth, params: Math.ceil(params.getBoundingClientRect().right)});
});</script>"""


def test_report_into_an_existing_directory_writes_its_index(
    pipeline: dict[str, Any], report: dict[str, Any], tmp_path: Path
) -> None:
    """The module's report was written with `-o DIR` (an existing directory): DIR/index.html."""
    assert report["path"].is_file() and f"wrote {report['dir'] / 'index.html'}" in report["stdout"]
    new = tmp_path / "new"  # `-o new/`: a directory to make, not a file named new
    run([str(BIN / "python"), "-m", "tools.report", "-o", f"{new}/"], cwd=pipeline["repo"])
    assert (new / "index.html").is_file()


def test_report_unknown_revision_is_one_line(pipeline: dict[str, Any], tmp_path: Path) -> None:
    proc = make_report(pipeline["repo"], tmp_path / "report.html", "no-such-rev", check=False)
    assert proc.returncode == 1
    assert proc.stderr == "error: `dvc plots diff workspace no-such-rev` failed: unknown Git revision 'no-such-rev'\n"
    assert not (tmp_path / "report.html").exists()


# --------------------------------------------------------------------------------------------
# DVC's own page: `dvc plots show` / `dvc plots diff` with the template `make install` wrote
# --------------------------------------------------------------------------------------------

VEGA_PLOTS = ["Loss", "Accuracy", "plots/confusion.csv"]
# Once the page has loaded and vega-embed has drawn (Chromium's virtual time runs the promises), record
# how many Vega charts became an SVG (vl-convert's bundle renders SVG) and every src/href the page holds.
DVC_PROBE = """<script>addEventListener("load", () => setTimeout(() => {
  document.documentElement.dataset.probe = JSON.stringify({
    embeds: document.querySelectorAll(".vega-embed").length,
    charts: document.querySelectorAll(".vega-embed svg.marks, .vega-embed canvas.marks").length,
    links: [...document.querySelectorAll("[src], [href]")].map((e) => e.getAttribute("src") || e.getAttribute("href")),
  });
}, 3000));</script>"""


def remote_attributes(page: str) -> list[str]:
    """src/href attributes and CSS url()/@import pointing at a host, outside <script> bodies (the inlined Vega
    bundle and the specs hold URLs as strings, e.g. "$schema", that nothing fetches)."""
    markup = re.sub(r"(<script[^>]*>).*?(</script>)", r"\1\2", page, flags=re.S)
    return re.findall(
        r"""(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?|@import\s*["']?)(?:https?:)?//[^"'\s>)]+""", markup
    )


def dvc_page(chromium: str, repo: Path, tmp_path: Path, *command: str) -> dict[str, Any]:
    """Run `dvc plots COMMAND -o DIR` and load its page in the offline Chromium: what the probe saw."""
    out = tmp_path / "dvc_plots"
    run([str(BIN / "dvc"), "plots", *command, "-o", str(out)], cwd=repo)
    page = (out / "index.html").read_text()
    assert remote_attributes(page) == [] and "cdn.jsdelivr" not in page
    probe_page = out / "probe.html"  # beside index.html: the PNGs' relative paths still resolve
    head, _, tail = page.rpartition("</body>")  # the last one: the inlined bundle holds the string too
    probe_page.write_text(head + DVC_PROBE + "</body>" + tail)
    dom = browse(chromium, probe_page, tmp_path / "profile", 2000, "--virtual-time-budget=20000", "--dump-dom")
    match = re.search(r'data-probe="([^"]*)"', dom.stdout)
    assert match, f"page did not finish loading\n{dom.stderr[-2000:]}"
    assert [line for line in dom.stderr.splitlines() if "net::ERR" in line or "Uncaught" in line] == []
    return json.loads(html.unescape(match.group(1)))


def test_dvc_plots_show_renders_every_vega_plot_offline(
    chromium: str, pipeline: dict[str, Any], tmp_path: Path
) -> None:
    """`make run` ran `make install`, which wrote .dvc/plots_page.html and set plots.html_template: plain
    `dvc plots show` uses it, and in a browser with no network every Vega plot is drawn."""
    repo = pipeline["repo"]
    assert "html_template = plots_page.html" in (repo / ".dvc/config.local").read_text()
    probe = dvc_page(chromium, repo, tmp_path, "show")
    assert probe["embeds"] == probe["charts"] == len(VEGA_PLOTS)
    assert not [link for link in probe["links"] if re.match(r"(?:https?:)?//", link)], probe["links"]


def test_dvc_plots_diff_renders_every_vega_plot_offline(
    chromium: str, pipeline: dict[str, Any], tmp_path: Path
) -> None:
    probe = dvc_page(chromium, pipeline["repo"], tmp_path, "diff", "HEAD")
    assert probe["embeds"] == probe["charts"] == len(VEGA_PLOTS)  # both revisions in each chart


def test_dvc_plots_show_before_make_install_uses_dvcs_own_page(tmp_path: Path) -> None:
    """A clone that never ran `make install` has no plots.html_template: DVC's own page (online) still works."""
    repo = clone_worktree(tmp_path / "repo")
    assert not (repo / ".dvc/config.local").exists() and not (repo / ".dvc/plots_page.html").exists()
    run([str(BIN / "dvc"), "plots", "show", "-o", str(tmp_path / "out")], cwd=repo)
    assert "https://cdn.jsdelivr.net/npm/vega" in (tmp_path / "out/index.html").read_text()
