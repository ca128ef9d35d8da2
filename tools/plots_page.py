"""plots_page: make DVC's own `dvc plots show` and `dvc plots diff` pages work offline.

DVC's page loads vega, vega-lite and vega-embed from a CDN, so without network every Vega plot (Loss,
Accuracy, the confusion matrix) is silently missing and only the PNGs appear. This writes a page template
with the three libraries inlined, from the locked vl-convert (the versions it renders with), and points this
clone's DVC at it (`plots.html_template` in .dvc/config.local). `make install` runs it.

Usage:  python -m tools.plots_page
Output: .dvc/plots_page.html (git-ignored: it is generated, like .venv; its size: docs/benchmarks.md) and
        .dvc/config.local's plots.html_template. Without them (before `make install`) DVC uses its own page,
        which needs network.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from penguins.cli import run_cli, stage_parser
from penguins.errors import PipelineError
from penguins.io import write_bytes
from penguins.paths import ROOT
from tools.repo.output import last_error
from tools.repo.run import dvc

PAGE = Path(".dvc/plots_page.html")
# vl-convert's bundle is an ES module; this line makes vegaEmbed the global DVC's plot <div>s call.
EXPORT = "window.vegaEmbed = vegaEmbed;"
# DVC fills the template with str.replace: {plot_divs} (required), {refresh_tag} (`dvc plots show --open`'s
# auto-refresh). {scripts}, DVC's CDN <script> tags, is left out on purpose.
TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{{refresh_tag}}
<title>DVC plots (offline)</title>
<!-- vega, vega-lite and vega-embed, inlined by tools/plots_page.py from vl-convert {version} -->
<script>{bundle}</script>
<style>
body {{ font-family: system-ui, "DejaVu Sans", sans-serif; margin: 16px; }}
table {{ border-spacing: 15px; }}
</style>
</head>
<body>
{{plot_divs}}
</body>
</html>
"""


def page(bundle: str, version: str) -> str:
    """The template around ``bundle``; refuses a bundle that would end the <script> or hold a DVC placeholder."""
    for bad in ("</script", "{plot_divs}", "{scripts}", "{refresh_tag}"):
        if bad in bundle.lower():
            raise PipelineError(f"vl-convert {version}'s JavaScript bundle contains {bad!r}: cannot inline it")
    return TEMPLATE.format(bundle=bundle, version=version)


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    import vl_convert as vlc

    write_bytes(ROOT / PAGE, page(vlc.javascript_bundle(EXPORT), vlc.__version__).encode())
    # Relative to .dvc/, so the setting survives moving the clone.
    proc = dvc("config", "--local", "plots.html_template", PAGE.name, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise PipelineError(f"cannot set plots.html_template in .dvc/config.local: {last_error(proc.stderr)}")
    print(f"wrote {PAGE}: `dvc plots show` and `dvc plots diff` now render every plot offline")


if __name__ == "__main__":
    run_cli(main)
