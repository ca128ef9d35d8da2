"""After a failed `dvc exp run -S ...`, `make reset` brings the workspace back to HEAD; DVC and the stages read
params.yaml alike (scientific notation, and what -S writes back)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from dvc.utils.hydra import apply_overrides

from penguins.yamlio import read_yaml
from tests.conftest import BIN, MAKE, dvc, run

pytestmark = pytest.mark.e2e
UP_TO_DATE = "Data and pipelines are up to date."


def head_bytes(repo: Path, path: str) -> bytes:
    return run(["git", "show", f"HEAD:{path}"], cwd=repo).stdout.encode()


def test_dvc_and_the_stages_agree_on_scientific_notation(pipeline_copy: Path) -> None:
    """`learning_rate: 1e-2` is the committed 0.01 to DVC (nothing to re-run), so the stages must accept it too."""
    params = pipeline_copy / "params.yaml"
    params.write_text(params.read_text().replace("learning_rate: 0.01 ", "learning_rate: 1e-2 ", 1))
    assert UP_TO_DATE in dvc("status", cwd=pipeline_copy).stdout
    run([str(BIN / "python"), "-m", "stages.validate_params"], cwd=pipeline_copy)


def test_reset_after_a_failed_experiment(pipeline_copy: Path) -> None:
    repo = pipeline_copy
    # params.yaml as DVC writes it, so that -S changes values only: `epochs: abc` then has the size of
    # `epochs: 100`, and git's timestamp check took the rewritten file for unchanged (`git checkout -- .` kept it).
    apply_overrides(repo / "params.yaml", ["train.epochs=100"])
    run(["git", "commit", "-q", "-am", "params.yaml as DVC formats it (the same values)"], cwd=repo)

    failed = dvc("exp", "run", "-S", "train.learning_rate=0.00001", "-S", "train.epochs=abc", cwd=repo, check=False)
    assert failed.returncode != 0
    # Only epochs is refused: the 1e-05 that -S wrote for 0.00001 is a number to the stages, as to DVC.
    assert "error: params.yaml: train.epochs must be a valid integer, got 'abc'" in failed.stderr, failed.stderr
    written = (repo / "params.yaml").read_text()
    assert "learning_rate: 1e-05 " in written and "epochs: abc" in written
    lock = read_yaml(repo / "dvc.lock")
    model = next(o for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model.keras")
    (repo / "models/model.keras").unlink()  # as a failed later stage leaves it: DVC deletes outputs first
    (repo / "metrics/metrics.json").write_text("{}\n")

    proc = run([*MAKE, "reset"], cwd=repo)
    assert "reset: restored params.yaml (it differed from HEAD)" in proc.stdout, proc.stdout
    for path in ("params.yaml", "metrics/metrics.json", "dvc.lock"):
        assert (repo / path).read_bytes() == head_bytes(repo, path), path
    assert hashlib.md5((repo / "models/model.keras").read_bytes()).hexdigest() == model["md5"]
    assert UP_TO_DATE in dvc("status", cwd=repo).stdout
    assert "make reset: metrics/metrics.json, params.yaml" in run(["git", "stash", "list"], cwd=repo).stdout  # kept


def test_reset_refuses_a_damaged_cache_object(pipeline_copy: Path) -> None:
    """Bit rot in DVC's cache: `dvc checkout` copies the object as it is, so reset must check it against dvc.lock."""
    repo = pipeline_copy
    model = repo / "models/model.keras"
    want = hashlib.md5(model.read_bytes()).hexdigest()
    cached = repo / ".dvc/cache/files/md5" / want[:2] / want[2:]
    damaged = bytearray(cached.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    cached.chmod(0o644)
    cached.write_bytes(bytes(damaged))
    model.unlink()

    proc = run([str(BIN / "python"), "-m", "tools.reset"], cwd=repo, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "error: the DVC cache holds damaged copies of models/model.keras (md5 unlike dvc.lock's): removed them "
        "from the workspace and the cache; `dvc pull` (from a remote with `verify true`) or `dvc repro` makes "
        "them again"
    ), proc.stderr
    assert not model.exists() and not cached.exists()  # nothing reuses the damaged bytes
    assert "reset: the workspace is HEAD" not in proc.stdout
