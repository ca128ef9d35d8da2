"""make check-repro: cli.py runs the steps (dvc, git, a clean clone), verdicts.py judges what they found."""
