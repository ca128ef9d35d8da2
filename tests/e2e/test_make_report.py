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
from tools.repo.run import ENV

pytestmark = pytest.mark.e2e

PLOTS = [
    "plots/pairplot.png",
    "Loss",
    "Accuracy",
    "plots/training_curves.png",
    "plots/confusion.csv",
    "plots/confusion_heatmap.png",
]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")  # as in the Makefile
WINDOW_WIDTH = 1300
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
    output = tmp_path_factory.mktemp("report") / "index.html"
    proc = make_report(pipeline["repo"], output)
    return {"path": output, "page": output.read_text(), "stdout": proc.stdout, "stderr": proc.stderr}


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


def test_report_lists_every_plot_and_metric(report: dict[str, Any]) -> None:
    assert report["stdout"].startswith("wrote ") and "6 plots, 1 revision(s)" in report["stdout"]
    assert report["stderr"] == ""  # no warning: the pipeline is reproduced
    page = report["page"]
    assert re.findall(r'<section class="card[^"]*" id="plot-\d+"><h3>([^<]+)</h3>', page) == PLOTS
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


def test_report_compares_an_experiment_by_name(pipeline_copy: Path, tmp_path: Path) -> None:
    """An experiment that changed the pairplot: shown beside the workspace, identical pictures once."""
    run([str(BIN / "dvc"), "exp", "run", "explore", "-n", "three-features", "-S",
         "data.features=[bill_length_mm,bill_depth_mm,flipper_length_mm]"], cwd=pipeline_copy)  # fmt: skip
    proc = make_report(pipeline_copy, tmp_path / "report.html", "three-features", "HEAD")
    page = (tmp_path / "report.html").read_text()
    assert "6 plots, 3 revision(s)" in proc.stdout
    assert (
        "warning: workspace: not reproduced, `dvc status` lists clean, encode" in proc.stderr
    )  # the exp ran explore only
    cards = dict(re.findall(r'<h3>([^<]+)</h3><div class="pictures">(.*?)</div></section>', page))
    captions = {name: re.findall(r"<figcaption>([^<]*)</figcaption>", card) for name, card in cards.items()}
    assert captions["plots/pairplot.png"] == ["workspace, three-features", "HEAD"]
    assert captions["plots/training_curves.png"] == ["workspace, three-features, HEAD"]
    assert captions["Loss"] == ["workspace, three-features, HEAD"]
    assert '<tr class="changed"><th scope="row">data.features</th>' in page
    assert network_references(page) == []


def test_report_unknown_revision_is_one_line(pipeline: dict[str, Any], tmp_path: Path) -> None:
    proc = make_report(pipeline["repo"], tmp_path / "report.html", "no-such-rev", check=False)
    assert proc.returncode == 1
    assert proc.stderr == "error: `dvc plots diff workspace no-such-rev` failed: unknown Git revision 'no-such-rev'\n"
    assert not (tmp_path / "report.html").exists()
