"""End-to-end: bad input and params through the real dvc, the real stages and the real Keras (the messages
themselves are unit-tested beside their modules): each refused in one line, nothing lost."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from penguins.yamlio import read_yaml
from stages import fetch as fetch_stage
from tests.conftest import BIN, MAKE, dvc, edit_params, run
from tools.repo.run import ENV

pytestmark = pytest.mark.e2e


def stage(repo: Path, name: str) -> subprocess.CompletedProcess[str]:
    """A stage run by hand (as `python -m stages.X`), not under DVC."""
    return run([str(BIN / "python"), "-m", f"stages.{name}"], cwd=repo, check=False)


# Stages run by hand one after another in one interpreter, each through its entry point's run_cli (the one-line
# errors, the params check) but without a Python start and the imports it repeats (pandas in each, TensorFlow in
# train and evaluate): about 3 CPU s less for the whole pipeline. Stops at the first stage that fails.
STAGES_IN_ONE_PROCESS = """
import importlib, sys
from penguins.cli import run_cli
for name in sys.argv[1:]:
    print(f"stage {name}", file=sys.stderr, flush=True)
    run_cli(importlib.import_module(f"stages.{name}").main, [])
"""


def stages(repo: Path, *names: str) -> subprocess.CompletedProcess[str]:
    """Stages run by hand in turn (as `python -m stages.X` each would), in one process."""
    return run([str(BIN / "python"), "-c", STAGES_IN_ONE_PROCESS, *names], cwd=repo, check=False)


def one_error_line(proc: subprocess.CompletedProcess[str], start: str) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {start}"), proc.stderr


def replace(path: Path, text: str) -> None:
    """Write a file DVC may have linked to its cache: replace it rather than write through the link."""
    path.unlink()
    path.write_text(text)


def test_evaluate_and_predict_refuse_a_card_that_is_not_the_models(pipeline_copy: Path) -> None:
    """Issue 20 item 1: reversed classes turned a textbook Adelie into "Gentoo", exit 0."""
    card_path = pipeline_copy / "models/model.json"
    card = json.loads(card_path.read_text())
    assert len(card["model_md5"]) == 32 and len(card["checksum"]) == 32
    metrics = (pipeline_copy / "metrics/metrics.json").read_bytes()
    replace(card_path, json.dumps(card | {"classes": card["classes"][::-1]}))
    expected = "models/model.json: the card was edited after train wrote it (checksum mismatch); regenerate it"
    one_error_line(stage(pipeline_copy, "evaluate"), expected)
    assert (pipeline_copy / "metrics/metrics.json").read_bytes() == metrics
    adelie = ["--bill-length-mm", "39.1", "--bill-depth-mm", "18.7", "--flipper-length-mm", "181", "--body-mass-g"]
    proc = run([str(BIN / "python"), "-m", "penguins.predict", *adelie, "3750"], cwd=pipeline_copy, check=False)
    one_error_line(proc, expected)
    assert proc.stdout == ""


def test_params_changed_since_validate_params_are_refused_under_dvc(pipeline_copy: Path) -> None:
    """Issue 20 item 3, as DVC runs it: train started without validate_params having checked the new file."""
    model = (pipeline_copy / "models/model.keras").read_bytes()
    edit_params(pipeline_copy, train__epochs=3)
    proc = dvc("repro", "--single-item", "train", cwd=pipeline_copy, check=False)
    assert proc.returncode != 0
    assert (
        "error: params.yaml changed after validate_params checked it in this run (train.epochs: 100 then, 3 now); "
    ) in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    dvc("checkout", "models/model.keras", cwd=pipeline_copy)  # DVC removed it before the stage ran: in its cache
    assert (pipeline_copy / "models/model.keras").read_bytes() == model
    proc = dvc("repro", "train", cwd=pipeline_copy)  # the recovery the line gives: validate_params runs first
    assert json.loads((pipeline_copy / "dvclive/metrics.json").read_text())["step"] == 2


def test_train_saves_no_model_from_a_nan_loss(pipeline_copy: Path) -> None:
    """Issue 20 item 4: whatever the cause (here an empty cell in the training rows), no NaN model is saved."""
    model = (pipeline_copy / "models/model.keras").read_bytes()
    train = pipeline_copy / "data/split/train.csv"
    rows = train.read_text().splitlines()
    header = rows[0].split(",")
    cells = rows[1].split(",")
    cells[header.index("body_mass_g")] = ""
    replace(train, "\n".join([rows[0], ",".join(cells), *rows[2:]]) + "\n")
    edit_params(pipeline_copy, train__epochs=2)
    one_error_line(stage(pipeline_copy, "train"), "training diverged (loss is nan from epoch 1), no model saved; ")
    assert (pipeline_copy / "models/model.keras").read_bytes() == model


def test_a_non_finite_raw_value_stops_the_first_stage_that_reads_numbers(pipeline_copy: Path) -> None:
    raw = pipeline_copy / "data/raw/penguins.csv"
    lines = raw.read_text().splitlines()
    lines[1] = lines[1].replace(",3750,", ",inf,")
    replace(raw, "\n".join(lines) + "\n")
    clean = (pipeline_copy / "data/clean/penguins.csv").read_bytes()
    summary = (pipeline_copy / "metrics/data_summary.json").read_bytes()
    for name in ("explore", "clean"):
        one_error_line(
            stage(pipeline_copy, name),
            "data/raw/penguins.csv: line 2: column 'body_mass_g' has value inf, not a finite float32 number",
        )
    assert (pipeline_copy / "data/clean/penguins.csv").read_bytes() == clean
    assert (pipeline_copy / "metrics/data_summary.json").read_bytes() == summary


def test_coded_labels_work_end_to_end(pipeline_copy: Path) -> None:
    """Issue 20 item 5: a label column coded 1/2/3 with `data.classes: [1, 2, 3]`, through every stage to
    predict, which reports the labels as given."""
    raw = pipeline_copy / "data/raw/penguins.csv"
    table = pd.read_csv(raw)
    codes = {"Adelie": 1, "Chinstrap": 2, "Gentoo": 3}
    replace(raw, table.assign(species=table["species"].map(codes)).to_csv(index=False))
    edit_params(pipeline_copy, data__classes=[1, 2, 3], train__epochs=50)
    names = ("validate_params", "explore", "clean", "encode", "split", "train", "evaluate", "figures")
    proc = stages(pipeline_copy, *names)
    assert proc.returncode == 0, proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.startswith("stage ")] == [f"stage {n}" for n in names]
    card = json.loads((pipeline_copy / "models/model.json").read_text())
    assert card["classes"] == [1, 2, 3]
    summary = json.loads((pipeline_copy / "metrics/data_summary.json").read_text())
    assert summary["class_counts"] == {"1": 152, "2": 68, "3": 124}
    metrics = json.loads((pipeline_copy / "metrics/metrics.json").read_text())
    assert sorted(metrics["per_class"]) == ["1", "2", "3"]
    adelie = ["--bill-length-mm", "39.1", "--bill-depth-mm", "18.7", "--flipper-length-mm", "181", "--body-mass-g"]
    proc = run([str(BIN / "python"), "-m", "penguins.predict", *adelie, "3750", "--json"], cwd=pipeline_copy)
    document = json.loads(proc.stdout)
    assert document["classes"] == [1, 2, 3]
    assert document["predictions"][0]["predicted"] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "bomb:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)),
            "error: params.yaml: line {line}: YAML alias *a0 refused; DVC expands aliases before any stage runs",
        ),
        (None, "error: params.yaml: expected a mapping of sections (fetch, data, explore, split, train, check), got a"),
    ],
)
def test_make_run_refuses_what_dvc_would_choke_on_before_dvc_reads_it(
    pipeline_copy: Path, text: str | None, message: str
) -> None:
    """Issue 20 item 7: DVC expands an alias bomb in params.yaml (growing ~60 MB/s) and calls a list "failed to
    parse 'vars'", before any stage runs: `make run` checks params.yaml first."""
    params = pipeline_copy / "params.yaml"
    before = params.read_text()
    params.write_text(before + text if text else "- fetch\n- data\n")
    proc = run([*MAKE, "run"], cwd=pipeline_copy, check=False)
    assert proc.returncode != 0
    assert message.format(line=before.count("\n") + 3) in proc.stderr, proc.stderr
    assert "dvc repro" not in proc.stdout  # refused before DVC ran
    assert "Traceback" not in proc.stdout + proc.stderr


def test_an_ftp_url_is_refused_before_dvc_deletes_the_raw_file(pipeline_copy: Path) -> None:
    raw = pipeline_copy / "data/raw/penguins.csv"
    before = raw.read_bytes()
    edit_params(pipeline_copy, fetch__source="url", fetch__url="ftp://example.org/p.csv", fetch__sha256="0" * 64)
    proc = dvc("repro", cwd=pipeline_copy, check=False)
    assert proc.returncode != 0
    assert "error: params.yaml: fetch.url must start with http://, https:// or file://, got 'ftp://" in proc.stderr
    assert raw.read_bytes() == before


def test_params_rewritten_while_dvc_repro_runs_are_refused(pipeline_copy: Path, tmp_path: Path) -> None:
    """Issue 20 item 3 as it happens: `dvc repro` has validated params.yaml and is running fetch (blocked here on a
    FIFO, the data source) when another command rewrites params.yaml (as a refused `dvc exp run -S train.epochs=3`
    does); the stages after it refuse the new file instead of training and recording 3 epochs."""
    raw = (pipeline_copy / "data/raw/penguins.csv").read_bytes()
    fifo = tmp_path / "source.csv"
    os.mkfifo(fifo)
    edit_params(
        pipeline_copy, fetch__source="url", fetch__url=fifo.as_uri(), fetch__sha256=hashlib.sha256(raw).hexdigest()
    )
    repro = subprocess.Popen(
        [str(BIN / "dvc"), "repro"],
        cwd=pipeline_copy,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, writer = time.monotonic() + 120, None
        while writer is None and time.monotonic() < deadline:  # fetch (past its params check) has opened the FIFO
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                time.sleep(0.1)
        assert writer is not None, "fetch never read its source"
        edit_params(pipeline_copy, train__epochs=3)  # what a refused `dvc exp run -S train.epochs=3` leaves
        os.set_blocking(writer, True)
        os.write(writer, raw)  # fetch, waiting on it, gets the data and finishes
        os.close(writer)
        out, err = repro.communicate(timeout=300)
    finally:
        repro.kill()
    assert repro.returncode != 0, out + err
    assert "params.yaml changed after validate_params checked it in this run (train.epochs: 100 then, 3 now); " in err
    assert "Traceback" not in out + err
    assert read_yaml(pipeline_copy / "dvc.lock")["stages"]["train"]["params"]["params.yaml"]["train.epochs"] == 100


def test_fetch_help_tells_what_dvc_does_to_the_previous_raw_file(pipeline_copy: Path) -> None:
    """A failed fetch under `dvc repro`: DVC has deleted the previous raw file (as --help now says, instead of
    "left untouched"), `dvc checkout` brings it back, and a missing file:// path is not called a network problem."""
    raw = pipeline_copy / "data/raw/penguins.csv"
    before = raw.read_bytes()
    missing = (pipeline_copy / "nowhere.csv").as_uri()
    edit_params(pipeline_copy, fetch__source="url", fetch__url=missing, fetch__sha256="0" * 64)
    proc = dvc("repro", "fetch", cwd=pipeline_copy, check=False)
    assert proc.returncode != 0
    assert (
        f"error: could not read fetch.url '{missing}': No such file or directory; "
        "check the path (a file:// URL is a local file)\n"
    ) in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not raw.exists()
    assert "left untouched" not in fetch_stage.__doc__
    assert "`dvc checkout data/raw/penguins.csv` brings it back" in fetch_stage.__doc__  # --help shows it
    dvc("checkout", "data/raw/penguins.csv", cwd=pipeline_copy)
    assert raw.read_bytes() == before
