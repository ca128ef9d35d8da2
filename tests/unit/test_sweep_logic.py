"""tools.sweep's pure parts: grid expansion (hydra-core, as `dvc exp run -S`), validation with the
validate_params messages, names, shards, remote refs, and choosing the best by a validation metric."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from penguins.errors import PipelineError
from penguins.params import parse_params
from penguins.yamlio import read_yaml
from tests.conftest import ROOT
from tools import sweep
from tools.sweep import Row

PIPELINE = read_yaml(ROOT / "dvc.yaml")
SEEDS = "train.seed=0,1,2"


def plan(raw: dict[str, Any], *grid: str, name: str = "s") -> list[sweep.Experiment]:
    return sweep.plan_sweep(raw, grid, name)


def test_grid_is_a_product_in_dvc_order_with_hydra_range_and_choice() -> None:
    assert sweep.expand_grid(["train.seed=range(2)", "train.learning_rate=choice(0.001,0.01)"]) == [
        ("train.seed=0", "train.learning_rate=0.001"),
        ("train.seed=0", "train.learning_rate=0.01"),
        ("train.seed=1", "train.learning_rate=0.001"),
        ("train.seed=1", "train.learning_rate=0.01"),
    ]
    assert sweep.expand_grid(["train.hidden_units=[10],[16,8]", "params.yaml:train.epochs=3"]) == [
        ("train.hidden_units=[10]", "train.epochs=3"),
        ("train.hidden_units=[16,8]", "train.epochs=3"),
    ]
    assert sweep.expand_grid(["train.seed=range(0,10,4)"]) == [("train.seed=0",), ("train.seed=4",), ("train.seed=8",)]


def test_the_same_values_get_the_same_name_whatever_the_spelling_or_order(raw_params: dict[str, Any]) -> None:
    one = plan(raw_params, "train.learning_rate=0.01,0.001", SEEDS)
    other = plan(raw_params, SEEDS, "train.learning_rate=1e-2,1e-3")
    assert [e.name for e in one] == [e.name for e in other]
    assert len({e.name for e in one}) == 6
    assert all(e.name.startswith("s-") and len(e.name) == 2 + sweep.DIGITS for e in one)
    assert {e.name for e in plan(raw_params, SEEDS, name="other")}.isdisjoint(e.name for e in plan(raw_params, SEEDS))
    values = dict(
        next(e for e in one if "train.seed=2" in e.overrides and "train.learning_rate=0.01" in e.overrides).values
    )
    assert values == {"train.learning_rate": 0.01, "train.seed": 2}


def test_an_experiments_keys_are_read_as_hydra_reads_them(raw_params: dict[str, Any]) -> None:
    """One reader of an override's key (internals.override_key, Hydra's grammar), for the repeated-key check and
    for the experiment's values alike: no second, string-based reader that could disagree with it."""
    (exp,) = plan(raw_params, "++train.epochs=4")
    assert exp.values == (("train.epochs", 4),)
    readers = [
        str(path.relative_to(ROOT))
        for folder in ("tools", "penguins")
        for path in (ROOT / folder).rglob("*.py")
        if "def override_key(" in path.read_text(encoding="utf-8")
    ]
    assert readers == ["tools/repo/internals.py"]


@pytest.mark.parametrize(
    ("grid", "section", "key", "value"),
    [
        (["train.epochs=3,0"], "train", "epochs", 0),
        (["train.activation=relu,relux"], "train", "activation", "relux"),
        (["split.test_size=0.2,1.5"], "split", "test_size", 1.5),
        (["train.seed=abc"], "train", "seed", "abc"),
        (["train.hidden_units=[10],[]"], "train", "hidden_units", []),
        (["train.sed=1"], "train", "sed", 1),  # DVC refuses it too (not in params.yaml), in its own words
        (["+train.sed=1"], "train", "sed", 1),
        (["model.depth=2"], "model", None, {"depth": 2}),
    ],
)
def test_bad_values_and_keys_get_the_validate_params_message(
    raw_params: dict[str, Any], grid: list[str], section: str, key: str | None, value: Any
) -> None:
    bad = copy.deepcopy(raw_params)
    if key is None:
        bad[section] = value
    else:
        bad[section][key] = value
    with pytest.raises(PipelineError) as expected:
        parse_params(bad)
    with pytest.raises(PipelineError) as refused:
        plan(raw_params, *grid)
    assert str(refused.value).startswith(f"{expected.value} (grid experiment: ")
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (["train.seed=range("], "grid: cannot parse -S 'train.seed=range(' ("),
        (["train.learning_rate=interval(0,1)"], "interval() is not a list of values"),
        (["other.yaml:train.seed=1"], "sets a param in other.yaml; a sweep sets params.yaml keys only"),
        (["train.seed=1,1"], "grid: the same experiment is listed twice: train.seed=1"),
        ([], "no grid: give at least one -S KEY=VALUES"),
        (["train.seed=range(0)"], "grid: -S 'train.seed=range(0)' expands to no value, so the sweep has no experiment"),
        (["train.epochs=2,3", "train.seed=range(5,0)"], "grid: -S 'train.seed=range(5,0)' expands to no value"),
        # a key given twice: Hydra keeps the last (1 experiment, exit 0), whatever the spelling DVC accepts
        (["train.epochs=1,2", "train.epochs=3"], "-S 'train.epochs=1,2' and -S 'train.epochs=3' both set train.epochs"),
        (["params.yaml:train.epochs=1,2", "train.epochs=3"], "and -S 'train.epochs=3' both set train.epochs"),
        (["train.epochs=1,2", "+train.epochs=3"], "and -S '+train.epochs=3' both set train.epochs"),
        (["train.epochs=1,2", "++train.epochs=3,4"], "and -S '++train.epochs=3,4' both set train.epochs"),
        (["train.seed=1", "train.epochs=2", "~train.seed"], "-S 'train.seed=1' and -S '~train.seed' both set train."),
        (["train.epochs=1,2", "train={epochs: 3}"], "overlap (train holds train.epochs;"),
    ],
)
def test_bad_grids_are_refused_in_one_line(raw_params: dict[str, Any], grid: list[str], message: str) -> None:
    with pytest.raises(PipelineError) as refused:
        plan(raw_params, *grid)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("name", ["a b", "-x", "x..y", "x.lock", "x/y", "", "é"])
def test_sweep_names_must_fit_in_a_git_ref(raw_params: dict[str, Any], name: str) -> None:
    with pytest.raises(PipelineError, match="cannot start experiment names"):
        plan(raw_params, SEEDS, name=name)


def test_shards_are_disjoint_balanced_deterministic_and_cover_the_grid(raw_params: dict[str, Any]) -> None:
    experiments = plan(raw_params, "train.seed=range(10)", "train.learning_rate=0.001,0.01")
    shards = [sweep.shard_of(experiments, i, 3) for i in range(3)]
    names = [e.name for shard in shards for e in shard]
    assert sorted(names) == sorted(e.name for e in experiments)  # each once
    assert sorted(len(shard) for shard in shards) == [6, 7, 7]
    assert shards == [sweep.shard_of(list(reversed(experiments)), i, 3) for i in range(3)]
    assert sweep.shard_of(experiments, 0, 1) == sorted(experiments, key=lambda e: e.name)


@pytest.mark.parametrize("text", ["3/3", "1", "-1/3", "a/b", "0/0"])
def test_bad_shards_are_refused(text: str) -> None:
    with pytest.raises(PipelineError, match=r"--shard .*expected I/N with 0 <= I < N"):
        sweep.parse_shard(text)


def test_refs_of_one_baseline_by_name() -> None:
    base, other = "ab" + "c" * 38, "de" + "f" * 38
    listing = (
        f"1111\trefs/exps/ab/{'c' * 38}/s-1\n2222\trefs/exps/de/{'f' * 38}/s-1\n3333 refs/exps/ab/{'c' * 38}/s-2\n"
    )
    assert sweep.parse_refs(listing, base) == {"s-1": "1111", "s-2": "3333"}
    assert sweep.parse_refs(listing, other) == {"s-1": "2222"}
    assert sweep.parse_refs("", base) == {}


def test_the_stages_a_sweep_runs_and_what_stays_stale() -> None:
    assert sweep.upstream_stages(PIPELINE, "train") == ["encode", "split"]
    assert sweep.upstream_stages(PIPELINE, "evaluate") == ["split", "train"]
    stale_after_train = sweep.outputs_not_run(PIPELINE, "train")
    assert "metrics/metrics.json" in stale_after_train  # evaluate did not run
    assert "plots/training_curves.png" in stale_after_train
    assert "dvclive" not in stale_after_train  # train's DVCLive log: validation metrics
    assert "metrics/metrics.json" not in sweep.outputs_not_run(PIPELINE, "evaluate")
    with pytest.raises(PipelineError, match=r"--target 'trian' is not a stage of dvc\.yaml"):
        sweep.upstream_stages(PIPELINE, "trian")


def row(name: str, seed: int, lr: float, *, val: float | None, val_loss: float, test: float) -> Row:
    return Row(
        name, f"{name}-rev", {"train.seed": seed, "train.learning_rate": lr},
        {"dvclive/metrics.json": {"eval.accuracy": val, "eval.loss": val_loss, "train.accuracy": 1.0},
         "metrics/metrics.json": {"accuracy": test, "loss": 0.1}},
    )  # fmt: skip


ROWS = [
    row("a", 0, 0.001, val=0.90, val_loss=0.30, test=0.99),
    row("b", 1, 0.001, val=0.95, val_loss=0.20, test=0.90),  # ties with c on validation accuracy, lower validation loss
    row("c", 0, 0.01, val=0.95, val_loss=0.25, test=1.00),  # the test set's favourite: must not matter
    row("d", 1, 0.01, val=0.93, val_loss=0.10, test=0.95),
    row("e", 2, 0.01, val=None, val_loss=0.10, test=0.95),  # no metric: ranks last
]


def compare(**options: Any) -> sweep.Comparison:
    keys = ("train.seed", "train.learning_rate")
    experiments = [sweep.Experiment(r.name, (), tuple((k, r.params[k]) for k in keys)) for r in ROWS]
    settings = {"metric": sweep.DEFAULT_METRIC, "tiebreak": sweep.DEFAULT_TIEBREAK, "show": ["accuracy"], "over": None}
    return sweep.compare(ROWS, experiments, PIPELINE, markdown=False, **{**settings, **options})


def test_best_is_chosen_by_validation_metric_then_tiebreak_never_by_test() -> None:
    result = compare()
    assert result.best is not None
    assert result.best.name == "b"
    lines = result.text.splitlines()
    assert lines[0].split() == [
        "Experiment",
        "train.seed",
        "train.learning_rate",
        "eval.accuracy",
        "eval.loss",
        "accuracy",
        "(test)",
    ]
    assert [line.split()[0] for line in lines[1:6]] == ["b", "c", "d", "a", "e"]
    assert lines[-1].startswith("Best experiment by dvclive/metrics.json:eval.accuracy (validation, higher is")
    assert compare(tiebreak=None).best.name == "b"  # no tiebreak: ties by name
    assert compare(metric="eval.loss").best.name == "d"  # a loss: lower is better


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ("accuracy", "--metric metrics/metrics.json:accuracy is measured on the test split (data/split/test.csv)"),
        ("metrics/metrics.json:loss", "the test set must not pick the model"),
        (
            "val_acc",
            "'val_acc': no such metric in the experiments (have: accuracy, eval.accuracy, eval.loss, loss, train",
        ),
    ],
)
def test_test_set_and_unknown_metrics_are_refused(metric: str, message: str) -> None:
    with pytest.raises(PipelineError) as refused:
        compare(metric=metric)
    assert message in str(refused.value)


def test_a_metric_in_two_files_must_be_named_with_its_file() -> None:
    rows = [Row("a", "r", {}, {"dvclive/metrics.json": {"loss": 1.0}, "other/train.json": {"loss": 2.0}})]
    with pytest.raises(
        PipelineError, match=r"'loss' is in several files \(dvclive/metrics.json:loss, other/train.json:loss\)"
    ):
        sweep.resolve_metric(rows, "loss", [], "--metric")
    assert sweep.resolve_metric(rows, "other/train.json:loss", [], "--metric") == ("other/train.json", "loss")
    columns = sweep.metric_columns(rows, ["loss"], [])
    assert [c.header for c in columns] == ["dvclive/metrics.json:loss", "other/train.json:loss"]


def test_settings_are_ranked_by_their_mean_over_seeds() -> None:
    text = compare(over="train.seed").text
    ranking = text.split("Settings by mean eval.accuracy over train.seed")[1]
    lines = [line for line in ranking.splitlines() if line.startswith("train.learning_rate=")]
    assert [line.split()[0] for line in lines] == ["train.learning_rate=0.001", "train.learning_rate=0.01"]
    assert lines[0].split()[1:4] == ["0.925", "0.9", "0.95"]  # mean, then seed 0 and seed 1
    assert lines[1].split()[1] == "-"  # seed 2 of lr 0.01 has no metric: no mean for that setting
    assert "Best setting by validation: train.learning_rate=0.001 (mean eval.accuracy 0.925)" in text


def test_rows_come_from_exp_show_json_each_once() -> None:
    data = {
        "params": {"params.yaml": {"data": {"train": {"seed": 1}}}},
        "metrics": {"m.json": {"data": {"a": {"b": 1}}}},
    }
    shown = [
        {"rev": "workspace", "data": data},
        {"rev": "base", "data": data, "experiments": [
            {"name": "s-1", "revs": [{"rev": "r1", "name": "s-1", "data": data}]},
            {"name": "other", "revs": [{"rev": "r2", "name": "other", "data": data}]},
            {"name": None, "revs": [{"rev": "r3", "name": "s-2", "data": {}, "error": {"msg": "failed"}}]},
        ]},
    ]  # fmt: skip
    rows = sweep.rows_from_exp_show(shown, ["s-1", "s-2", "s-3"])
    assert [(r.name, r.rev, r.params, r.metrics) for r in rows] == [
        ("s-1", "r1", {"train.seed": 1}, {"m.json": {"a.b": 1}}),
        ("s-2", "r3", {}, {}),
    ]


def test_markdown_table() -> None:
    assert sweep.render(["a", "b"], [["1", "2"]], markdown=True) == "| a   | b   |\n|:----|:----|\n| 1   | 2   |"
    assert sweep.render(["a", "bb"], [["111", "2"]], markdown=False) == "a    bb\n111  2"
