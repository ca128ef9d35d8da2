"""End-to-end: share the pipeline's results through a DVC remote instead of re-running it, and what goes wrong.

Clone A (the shared pipeline clone, copied) pushes to a local-directory remote and to S3 (moto on
127.0.0.1); fresh git clones B pull, are clean, run no stage, predict, restore an experiment A ran from
the shared run-cache without training, and fetch the model by name with `dvc artifacts get`.

Faults: `python -m tools.remote` (make push / make pull) must say each in one line and exit non-zero;
DVC's own commands must exit non-zero too; nothing local is lost or half-written; nothing hangs. The
broken endpoints are sockets on 127.0.0.1. (One module: its session fixtures are set up once.)
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from penguins.yamlio import read_yaml
from tests.helpers.remote import *  # noqa: F403 (the fixtures)
from tests.helpers.remote import (
    KINDS,
    REMOTE_TOOL,
    CuttingProxy,
    Remotes,
    SilentServer,
    elapsed,
    free_port,
    md5,
    one_error_line,
    sh,
    snapshot,
    wait_for,
)
from tools.repo import clones as workspace
from tools.repo.clones import BIN, clone_worktree

pytestmark = pytest.mark.e2e

DVC = str(BIN / "dvc")
PREDICT = [str(BIN / "python"), "-m", "penguins.predict"]
PENGUIN = ["--bill-length-mm", "39.1", "--bill-depth-mm", "18.7", "--flipper-length-mm", "181", "--body-mass-g", "3750"]
EXPERIMENT = ["-S", "train.epochs=3", "-S", "train.seed=7"]  # plumbing: a short run A makes, B must not repeat
MODEL = "penguin-classifier"


def lock_md5(repo: Path, path: str) -> str:
    lock = read_yaml(repo / "dvc.lock")
    return next(o["md5"] for s in lock["stages"].values() for o in s.get("outs", []) if o["path"] == path)


@pytest.fixture(scope="session")
def experiment(remotes: Remotes, tmp_path_factory: pytest.TempPathFactory) -> float:
    """A runs a short experiment (in a copy of A, so that A's workspace stays as it was) and pushes with
    `make push`'s command: the run-cache records, also of the stages DVC skips, and every file they name.
    Returns how long the run took."""
    copy = tmp_path_factory.mktemp("experiment") / "A"
    shutil.copytree(remotes.origin, copy, symlinks=True)
    start = time.perf_counter()
    sh([DVC, "exp", "run", *EXPERIMENT], cwd=copy, env=remotes.env)
    ran_s = time.perf_counter() - start
    for kind in KINDS:
        sh([*REMOTE_TOOL, "push", "--run-cache", "-r", kind], cwd=copy, env=remotes.env)
    return ran_s


@pytest.mark.parametrize("kind", KINDS)
def test_b_pulls_instead_of_retraining_and_restores_a_s_experiment(
    kind: str, remotes: Remotes, experiment: float, tmp_path: Path
) -> None:
    """B, a fresh clone: `dvc pull` gives every output, byte for byte A's; `dvc status` is clean, `dvc repro` runs
    nothing, predict works. Then `dvc exp run --pull` with the params of A's experiment restores every stage A ran
    from the shared run-cache: none runs."""
    assert "files pushed" in remotes.push_output[kind]
    repo = remotes.clone(tmp_path / "B")
    if kind != "local":  # `local` is already the default in A's committed .dvc/config
        sh([DVC, "remote", "default", "--local", kind], cwd=repo)  # what `dvc pull` and `--pull` use
    pulled = sh([DVC, "pull"], cwd=repo, env=remotes.env)
    assert "files fetched" in pulled.stdout, pulled.stdout
    model = "models/model.keras"
    assert md5(repo / model) == md5(remotes.origin / model) == lock_md5(repo, model)
    assert sh([DVC, "status"], cwd=repo, env=remotes.env).stdout.strip() == "Data and pipelines are up to date."
    assert sh(["git", "status", "--porcelain"], cwd=repo).stdout == ""
    if kind == "local":  # once: `dvc status` clean from either remote = the same files, dvc.lock's md5s
        repro = sh([DVC, "repro"], cwd=repo, env=remotes.env).stdout
        assert "Running stage" not in repro, repro
        assert "didn't change, skipping" in repro, repro
        assert sh(["git", "status", "--porcelain"], cwd=repo).stdout == ""
        assert '"predicted": "Adelie"' in sh([*PREDICT, *PENGUIN, "--json"], cwd=repo).stdout

    start = time.perf_counter()
    out = sh([DVC, "exp", "run", "--pull", *EXPERIMENT], cwd=repo, env=remotes.env).stdout
    restored_s = time.perf_counter() - start
    for stage in ("train", "evaluate", "figures"):
        assert f"Stage '{stage}' is cached - skipping run" in out, out
        assert f"Running stage '{stage}'" not in out, out
    assert json.loads((repo / "dvclive/metrics.json").read_text())["step"] == 2  # 3 epochs: steps 0, 1, 2
    print(f"{kind}: the experiment ran on A in {experiment:.1f} s, was restored on B in {restored_s:.1f} s")


def test_the_model_is_a_named_artifact_fetched_by_name_and_version(remotes: Remotes, tmp_path: Path) -> None:
    """`dvc artifacts get` from a bare git repository (no DVC cache of its own: the data comes from the remote)."""
    sh(
        ["git", "tag", "-a", f"{MODEL}@v1.0.0", "-m", f"Registering artifact {MODEL} version v1.0.0"],
        cwd=remotes.origin,
    )
    bare = tmp_path / "origin.git"
    sh(["git", "clone", "-q", "--bare", str(remotes.origin), str(bare)], cwd=tmp_path)
    expected = lock_md5(remotes.origin, "models/model.keras")

    sh([DVC, "artifacts", "get", str(bare), MODEL, "-o", "latest/model.keras"], cwd=tmp_path)
    assert md5(tmp_path / "latest/model.keras") == expected
    sh([DVC, "artifacts", "get", str(bare), MODEL, "--rev", "v1.0.0", "-o", "v1/model.keras"], cwd=tmp_path)
    assert md5(tmp_path / "v1/model.keras") == expected
    from_s3 = ["--remote", "s3", "-o", "s3/model.keras"]
    sh([DVC, "artifacts", "get", str(bare), MODEL, "--rev", "v1.0.0", *from_s3], cwd=tmp_path, env=remotes.env)
    assert md5(tmp_path / "s3/model.keras") == expected

    # The card predict needs, from the same tagged commit; then predict with the fetched model.
    sh([DVC, "get", str(bare), "models/model.json", "--rev", f"{MODEL}@v1.0.0", "-o", "v1/model.json"], cwd=tmp_path)
    predicted = sh([*PREDICT, "--model", str(tmp_path / "v1/model.keras"), *PENGUIN], cwd=remotes.origin)
    assert "Adelie" in predicted.stdout

    missing = sh([DVC, "artifacts", "get", str(bare), MODEL, "--rev", "v9.9.9"], cwd=tmp_path, check=False)
    assert missing.returncode != 0
    assert f"Unable to find artifact '{MODEL} @ v9.9.9'" in missing.stderr


def test_the_ci_remote_steps_pull_repro_and_push(remotes: Remotes, tmp_path: Path) -> None:
    """.ci/dvc-remote, as the workflow runs it, against the local-directory remote: configured in
    .dvc/config.local only, pulls everything, `dvc repro --pull` runs nothing, push succeeds."""
    repo = remotes.clone(tmp_path / "ci")
    (repo / ".venv").symlink_to(BIN.parent)
    env = {"DVC_REMOTE_URL": str(remotes.local_dir)}
    for step in ("configure", "pull", "repro", "push"):
        out = sh(["bash", ".ci/dvc-remote", step], cwd=repo, env=env).stdout
        if step == "repro":
            assert "Running stage" not in out, out
    assert "url = " in (repo / ".dvc/config.local").read_text()
    assert sh(["git", "status", "--porcelain"], cwd=repo).stdout == ""  # .venv link aside: ignored


def test_the_ci_pull_step_only_warns_when_the_remote_is_empty(remotes: Remotes, tmp_path: Path) -> None:
    repo = remotes.clone(tmp_path / "ci")
    (repo / ".venv").symlink_to(BIN.parent)
    env = {"DVC_REMOTE_URL": str(tmp_path / "empty-remote")}
    sh(["bash", ".ci/dvc-remote", "configure"], cwd=repo, env=env)
    pulled = sh(["bash", ".ci/dvc-remote", "pull"], cwd=repo, env=env)
    assert "::warning::dvc pull from the DVC remote failed" in pulled.stdout
    unset = sh(["bash", ".ci/dvc-remote", "pull"], cwd=repo, check=False)
    assert unset.returncode != 0
    assert "DVC_REMOTE_URL is not set" in unset.stderr


# ---- faults ----------------------------------------------------------------------------------

PREDICTIONS = "data/predictions/test.csv"


def add_s3_remote(repo: Path, name: str, url: str, endpoint: str, *extra: tuple[str, str]) -> None:
    sh([*REMOTE_TOOL, "add", name, url, "--endpoint", endpoint, "--local"], cwd=repo)
    for key, value in extra:
        sh([DVC, "remote", "modify", "--local", name, key, value], cwd=repo)


def share_local_config(configured: Path, other: Path) -> None:
    """Give another fresh clone of A the same .dvc/config.local (neither had one before): the file the same
    dvc commands would write there, without a second DVC start-up per command."""
    assert not (other / ".dvc/config.local").exists()
    shutil.copy2(configured / ".dvc/config.local", other / ".dvc/config.local")


def test_pull_without_any_remote_says_how_to_add_one(tmp_path: Path) -> None:
    repo = clone_worktree(tmp_path)  # a fresh clone of the project as committed: no remote, no data
    own = sh([DVC, "pull"], cwd=repo, check=False)
    assert own.returncode != 0
    assert "No remote provided and no default remote set" in own.stderr
    before = snapshot(repo)
    tool = sh([*REMOTE_TOOL, "pull"], cwd=repo, check=False)
    line = one_error_line(tool.stderr)
    assert tool.returncode == 1
    assert "no DVC remote is configured" in line
    assert "dvc remote add -d storage" in line
    assert snapshot(repo) == before


@pytest.mark.parametrize(("variable", "value", "code"), [
    ("AWS_SECRET_ACCESS_KEY", "not-the-secret", "SignatureDoesNotMatch"),
    ("AWS_ACCESS_KEY_ID", "AKIANOSUCHKEY0000000", "InvalidAccessKeyId"),
])  # fmt: skip
def test_wrong_credentials(variable: str, value: str, code: str, remotes: Remotes, pulled: Path, fresh: Path) -> None:
    """Push (from a clone with data) and pull (into an empty one) with a wrong key or secret: refused by name,
    the key never echoed, nothing changed locally."""
    env = {**remotes.env, variable: value}
    before = snapshot(pulled), snapshot(fresh)
    for command, repo in (("push", pulled), ("pull", fresh)):
        own = sh([DVC, command, "-r", "s3"], cwd=repo, env=env, check=False)
        assert own.returncode != 0
        shown = code if command == "push" else "403 Forbidden"  # pull starts with a HEAD: no body, no error code
        assert shown.split()[-1] in own.stderr
        tool = sh([*REMOTE_TOOL, command, "-r", "s3"], cwd=repo, env=env, check=False)
        line = one_error_line(tool.stderr)
        assert tool.returncode == 1
        assert f"refused the credentials ({shown})" in line
        assert "dvc remote modify --local s3 access_key_id" in line
        assert value not in line
    assert (snapshot(pulled), snapshot(fresh)) == before


def reference_s(remotes: Remotes, repo: Path, command: str) -> float:
    """Seconds the same tool command takes against the working S3 remote (nothing to move: A pushed everything):
    DVC's start-up and the clone's index under the machine's present load. A fault's bound is this plus the
    waiting the fault costs, so a loaded machine makes both slower alike (a fixed bound failed under load)."""
    start = time.perf_counter()
    sh([*REMOTE_TOOL, command, "-r", "s3"], cwd=repo, env=remotes.env)
    return elapsed(start)


def test_an_endpoint_where_nothing_listens_fails_at_once(remotes: Remotes, pulled: Path) -> None:
    """A refused connection is not waited on: botocore retries it a few times at once, then gives up."""
    reference = reference_s(remotes, pulled, "push")
    endpoint = f"http://127.0.0.1:{free_port()}"
    add_s3_remote(pulled, "nowhere", remotes.s3.url("penguins"), endpoint)
    before = snapshot(pulled)
    start = time.perf_counter()
    tool = sh([*REMOTE_TOOL, "push", "-r", "nowhere"], cwd=pulled, env=remotes.env, check=False)
    took = elapsed(start)
    line = one_error_line(tool.stderr)
    assert tool.returncode == 1
    assert "cannot connect to remote 'nowhere'" in line
    assert endpoint in line
    assert took < reference + 20, f"took {took:.1f} s; the same push to the working remote {reference:.1f} s"
    assert snapshot(pulled) == before


def test_an_endpoint_that_never_answers_fails_in_bounded_time(remotes: Remotes, pulled: Path, fresh: Path) -> None:
    """A connection that is accepted but never answered: read_timeout x AWS_MAX_ATTEMPTS (2) x s3fs's 5 tries.
    With read_timeout 1 s (DVC takes whole seconds): about 10 s of waiting plus back-off, on top of what the same
    pull costs against a remote that answers; botocore's default 5 attempts would wait over 25 s; with DVC's
    defaults (15 s) it waited 413 s here."""
    reference = reference_s(remotes, pulled, "pull")
    silent = SilentServer()
    try:
        endpoint = f"http://127.0.0.1:{silent.port}"
        add_s3_remote(fresh, "silent", remotes.s3.url("penguins"), endpoint, ("read_timeout", "1"))
        before = snapshot(fresh)
        start = time.perf_counter()
        tool = sh([*REMOTE_TOOL, "pull", "-r", "silent"], cwd=fresh, env=remotes.env, check=False, timeout=300)
        took = elapsed(start)
    finally:
        silent.close()
    line = one_error_line(tool.stderr)
    assert tool.returncode == 1
    assert "did not answer within read_timeout=1 s" in line
    assert took < reference + 18, f"took {took:.1f} s; the same pull from the working remote {reference:.1f} s"
    assert snapshot(fresh) == before


def test_a_bucket_that_does_not_exist(remotes: Remotes, pulled: Path, fresh: Path) -> None:
    add_s3_remote(pulled, "nobucket", "s3://no-such-bucket/penguins", remotes.s3.endpoint)
    share_local_config(pulled, fresh)
    before = snapshot(pulled), snapshot(fresh)
    for command, repo in (("push", pulled), ("pull", fresh)):
        own = sh([DVC, command, "-r", "nobucket"], cwd=repo, env=remotes.env, check=False)
        assert own.returncode != 0
        assert "NoSuchBucket" in own.stderr
        tool = sh([*REMOTE_TOOL, command, "-r", "nobucket"], cwd=repo, env=remotes.env, check=False)
        line = one_error_line(tool.stderr)
        assert tool.returncode == 1
        assert "bucket 'no-such-bucket' does not exist" in line
    assert (snapshot(pulled), snapshot(fresh)) == before


def test_a_push_cut_off_half_way_completes_when_repeated(remotes: Remotes, pulled: Path) -> None:
    """The connection stops answering after 3 uploads and the push is killed (like a lost network or a Ctrl-C).
    Repeated, it uploads the rest only; the remote holds each object once, each one intact."""
    s3 = remotes.s3
    prefix = "cut-off"
    _, port = s3.endpoint.rsplit(":", 1)
    proxy = CuttingProxy(int(port), puts=3)
    try:
        add_s3_remote(pulled, "flaky", s3.url(prefix), f"http://127.0.0.1:{proxy.port}")
        add_s3_remote(pulled, "direct", s3.url(prefix), s3.endpoint)
        before = snapshot(pulled)
        cmd = [DVC, "push", "-r", "flaky", "-j", "1"]
        push = subprocess.Popen(
            cmd, cwd=pulled, env={**workspace.ENV, **remotes.env}, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            wait_for(proxy.cut, 60, "the push to reach the cut")
        finally:
            push.send_signal(signal.SIGKILL)
            push.communicate(timeout=30)
    finally:
        proxy.close()
    assert push.returncode == -signal.SIGKILL
    half = s3.keys(prefix)
    assert len(half) == 3
    assert snapshot(pulled) == before

    again = sh([*REMOTE_TOOL, "push", "-r", "direct"], cwd=pulled, env=remotes.env)
    full = s3.keys(prefix)
    assert set(half) < set(full)
    assert len(full) == len(set(full))
    assert f"{len(full) - len(half)} files pushed" in again.stdout, again.stdout
    for key in full:  # content-addressed: each object's name is its md5
        body = s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
        assert key.endswith(hash_path(body)), key
    assert "in sync" in sh([DVC, "status", "-c", "-r", "direct"], cwd=pulled, env=remotes.env).stdout


def hash_path(body: bytes) -> str:
    digest = hashlib.md5(body, usedforsecurity=False).hexdigest()
    return f"{digest[:2]}/{digest[2:]}"


def tamper(data: bytes) -> bytes:
    """Same size, other bytes: one species name swapped (what a silent disk or transfer error could do)."""
    at = data.index(b"Adelie")
    return data[:at] + b"Gentoo" + data[at + 6 :]


@pytest.fixture(scope="module")
def tampered_local(remotes: Remotes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the local-directory remote whose copy of the predictions file was altered (only read: shared)."""
    remote = tmp_path_factory.mktemp("tampered") / "tampered-remote"
    shutil.copytree(remotes.local_dir, remote)
    digest = md5(remotes.origin / PREDICTIONS)
    target = remote / "files/md5" / digest[:2] / digest[2:]
    target.chmod(0o644)
    target.write_bytes(tamper(target.read_bytes()))
    return remote


@pytest.fixture(scope="module")
def tampered_s3(remotes: Remotes) -> str:
    """A prefix of the S3 bucket with the default pipeline's data, the predictions file altered (only read: shared).
    The objects are server-side copies of what A pushed to `s3` (DVC's layout, files/md5/xx/...): no dvc process
    (a `dvc push` to a new prefix cost four, at every test that used it)."""
    client, bucket = remotes.s3.client(), remotes.s3.bucket
    for key in remotes.s3.keys("penguins/files/"):
        copy = "tampered/" + key.removeprefix("penguins/")
        client.copy_object(Bucket=bucket, Key=copy, CopySource={"Bucket": bucket, "Key": key})
    digest = md5(remotes.origin / PREDICTIONS)
    key = f"tampered/files/md5/{digest[:2]}/{digest[2:]}"
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    client.put_object(Bucket=bucket, Key=key, Body=tamper(body))
    return remotes.s3.url("tampered")


def cache_is_sound(repo: Path) -> bool:
    """Every object in the clone's DVC cache has the md5 its name says."""
    objects = [p for p in (repo / ".dvc/cache/files/md5").glob("*/*") if p.is_file()]
    return all(p.parent.name + p.name == md5(p) for p in objects)


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_a_tampered_object_never_lands_with_verify_on(
    kind: str, remotes: Remotes, tampered_local: Path, tampered_s3: str, tmp_path: Path
) -> None:
    """With `verify true` (what `tools.remote add` sets) DVC itself re-hashes and refuses the file."""
    repo = remotes.clone(tmp_path / "B")
    if kind == "local":
        sh([*REMOTE_TOOL, "add", "bad", str(tampered_local), "--local"], cwd=repo)
    else:
        add_s3_remote(repo, "bad", tampered_s3, remotes.s3.endpoint)
    own = sh([DVC, "pull", "-r", "bad"], cwd=repo, env=remotes.env, check=False)
    assert own.returncode != 0
    assert PREDICTIONS in own.stderr
    assert not (repo / PREDICTIONS).exists()
    assert (repo / "models/model.keras").exists()
    assert cache_is_sound(repo)
    tool = sh([*REMOTE_TOOL, "pull", "-r", "bad"], cwd=repo, env=remotes.env, check=False)
    line = one_error_line(tool.stderr)
    assert tool.returncode == 1
    assert f"{PREDICTIONS} could not be taken from remote 'bad'" in line
    assert "corrupt" in line
    assert not (repo / PREDICTIONS).exists()
    assert cache_is_sound(repo)


def test_a_tampered_object_from_s3_without_verify_is_caught_after_pull(
    remotes: Remotes, tampered_s3: str, tmp_path: Path
) -> None:
    """Without `verify`, DVC's own pull takes the altered S3 object silently (exit 0, and `dvc status` says
    up to date). `make pull`'s check after the pull finds it, removes it from workspace and cache, says so."""
    silent, checked = remotes.clone(tmp_path / "silent"), remotes.clone(tmp_path / "checked")
    sh([DVC, "remote", "add", "--local", "bad", tampered_s3], cwd=silent)
    sh([DVC, "remote", "modify", "--local", "bad", "endpointurl", remotes.s3.endpoint], cwd=silent)
    share_local_config(silent, checked)

    sh([DVC, "pull", "-r", "bad"], cwd=silent, env=remotes.env)  # exit 0: the DVC behaviour this guards against
    assert md5(silent / PREDICTIONS) != md5(remotes.origin / PREDICTIONS)

    tool = sh([*REMOTE_TOOL, "pull", "-r", "bad"], cwd=checked, env=remotes.env, check=False)
    line = one_error_line(tool.stderr)
    assert tool.returncode == 1
    assert f"{PREDICTIONS} from remote 'bad'" in line
    assert "is corrupt" in line
    assert "verify true" in line
    assert not (checked / PREDICTIONS).exists()
    assert (checked / "models/model.keras").exists()
    assert cache_is_sound(checked)
