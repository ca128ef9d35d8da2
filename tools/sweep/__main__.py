"""`python -m tools.sweep`: the sweep's command line (tools/sweep/cli.py)."""

from penguins.cli import run_cli
from tools.sweep.cli import main

if __name__ == "__main__":
    run_cli(main)
