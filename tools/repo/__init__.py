"""The one layer through which the tools reach DVC, Hydra and git.

pipeline.py   the model of dvc.yaml / dvc.lock: stages, outputs, the stage graph (networkx)
clones.py     fresh clones of the working tree and their `dvc queue` (benchmarks and tests)
run.py        one runner for git and dvc subprocesses, ROOT and the virtualenv's BIN
output.py     what their output says: one last_error, the paths a checkout could not restore
internals.py  every private DVC/Hydra call, each naming the version it was checked against (a unit test each)
"""
