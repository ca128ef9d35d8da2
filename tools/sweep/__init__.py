"""sweep: one experiment grid over many machines (python -m tools.sweep --help; docs/sweeps.md).

grid.py     -S values parsed with Hydra's grammar, expanded, checked, named, dealt to shards
refs.py     the experiments' git refs, the checks a clone must pass, the stages a worker runs
worker.py   run one shard and push each experiment
collect.py  fetch, compare, name the best
cli.py      the command line (plan, worker, collect); __main__.py makes `python -m tools.sweep` run it

The names below are the parts other code and the tests use, from the module that holds each.
"""

from tools.sweep.collect import (
    DEFAULT_METRIC,
    DEFAULT_SHOW,
    DEFAULT_TIEBREAK,
    Column,
    Comparison,
    Row,
    collect,
    compare,
    metric_columns,
    outputs_from_test_split,
    render,
    resolve_metric,
    rows_from_exp_show,
)
from tools.sweep.grid import DIGITS, Experiment, apply_overrides, expand_grid, parse_shard, plan_sweep, shard_of
from tools.sweep.refs import local_experiments, outputs_not_run, parse_refs, remote_experiments, upstream_stages
from tools.sweep.worker import LOG_DIR, push_experiment, worker

__all__ = [
    "DEFAULT_METRIC", "DEFAULT_SHOW", "DEFAULT_TIEBREAK", "DIGITS", "LOG_DIR", "Column", "Comparison", "Experiment",
    "Row", "apply_overrides", "collect", "compare", "expand_grid", "local_experiments", "metric_columns",
    "outputs_from_test_split", "outputs_not_run", "parse_refs", "parse_shard", "plan_sweep", "push_experiment",
    "remote_experiments", "render", "resolve_metric", "rows_from_exp_show", "shard_of", "upstream_stages", "worker",
]  # fmt: skip
