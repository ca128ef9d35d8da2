"""python -m tools.report: see tools/report/cli.py."""

from penguins.cli import run_cli
from tools.report.cli import main

run_cli(main)
