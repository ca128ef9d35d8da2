"""The commands users run: check_repro, exp_show, remote, report, reset (python -m tools.X) and sweep (a package).

Rooms: repo/ (the one layer over DVC, Hydra and git), checks/ (the project's lint checks), benchmarks/."""
