"""tools/remote.py's pure parts on DVC's real messages (captured here from dvc 3.67 + dvc-s3 3.3), and the
declarations the shared run-cache, the model artifact and the CI remote steps rely on."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from dvc.repo.artifacts import check_name_format

from penguins.errors import PipelineError
from penguins.yamlio import read_yaml
from tests.conftest import ROOT
from tools.remote import (
    Remote,
    add_commands,
    checkout_failures,
    explain,
    is_local,
    last_error,
    pulled_paths,
    remote_from_config,
    team_umask,
)
from tools.repo.run import BIN, ENV

S3 = Remote(name="s3", url="s3://penguins/store", endpoint="http://127.0.0.1:9000", read_timeout=10, verify=True)
SUPPORT = "\nHaving any troubles? Hit us up at https://dvc.org/support, we are always happy to help!\n"

# stderr of `dvc push` / `dvc pull` for each fault, as DVC printed it here
NO_REMOTE = (
    "No remote provided and no default remote set.\n"
    "ERROR: failed to pull data from the cloud - Checkout failed for following targets:\n"
    "data/predictions/test.csv\ndata/clean/penguins.csv\nIs your cache up to date?\n<https://error.dvc.org/missing-files>\n"
)
WRONG_SECRET = (
    "ERROR: unexpected error - The request signature we calculated does not match the signature you provided. Check "
    "your key and signing method.: An error occurred (SignatureDoesNotMatch) when calling the ListObjectsV2 operation: "
    "The request signature we calculated does not match the signature you provided.\n" + SUPPORT
)
WRONG_KEY = (
    "ERROR: unexpected error - The AWS Access Key Id you provided does not exist in our records.: An error occurred "
    "(InvalidAccessKeyId) when calling the ListObjectsV2 operation: The AWS Access Key Id you provided does not "
    "exist in our records.\n" + SUPPORT
)
FORBIDDEN_HEAD = (
    "ERROR: failed to connect to s3 (penguins/penguins/files/md5) - Forbidden: An error occurred (403) when calling "
    "the HeadObject operation: Forbidden\nERROR: failed to pull data from the cloud - 10 files failed to download\n"
)
NO_BUCKET = (
    "ERROR: unexpected error - The specified bucket does not exist: An error occurred (NoSuchBucket) when calling the "
    "ListObjectsV2 operation: The specified bucket does not exist\n" + SUPPORT
)
REFUSED = (
    'ERROR: unexpected error - Could not connect to the endpoint URL: "http://127.0.0.1:5556/penguins?list-type=2&'
    'prefix=store%2Ffiles%2Fmd5%2F00%2F0&delimiter=&encoding-type=url"\n' + SUPPORT
)
SILENT = (
    'ERROR: unexpected error - Read timeout on endpoint URL: "http://127.0.0.1:5557/penguins?list-type=2&prefix='
    'store%2Ffiles%2Fmd5%2F00%2F0&delimiter=&encoding-type=url"\n' + SUPPORT
)
CORRUPT = (
    "WARNING: Some of the cache files do not exist neither locally nor on remote. Missing cache files:\n"
    "md5: 907d9bbe5120d8ed544bc4b8c83e494f\n"
    "ERROR: failed to pull data from the cloud - Checkout failed for following targets:\n"
    "data/predictions/test.csv\nIs your cache up to date?\n<https://error.dvc.org/missing-files>\n"
)


@pytest.mark.parametrize(("stderr", "expected"), [
    (NO_REMOTE, "no DVC remote is configured for `dvc pull`: add one: `dvc remote add -d storage /path/to/shared/dir`"),
    (WRONG_SECRET, "remote 's3' (s3://penguins/store at http://127.0.0.1:9000) refused the credentials "
                   "(SignatureDoesNotMatch): set them with `dvc remote modify --local s3 access_key_id ...`"),
    (WRONG_KEY, "refused the credentials (InvalidAccessKeyId)"),
    (FORBIDDEN_HEAD, "refused the credentials (403 Forbidden)"),
    (NO_BUCKET, "bucket 'penguins' does not exist there: create it, or fix the URL with `dvc remote modify s3 url"),
    (REFUSED, "cannot connect to remote 's3' (s3://penguins/store at http://127.0.0.1:9000): nothing answers there"),
    (SILENT, "accepted the connection but did not answer within read_timeout=10 s, several tries"),
    (CORRUPT, "pull: data/predictions/test.csv could not be taken from remote 's3' (s3://penguins/store at "
              "http://127.0.0.1:9000): missing there, or corrupt (failed the md5 check)"),
    ("ERROR: failed to push data to the cloud - 3 files failed to upload\n",
     "`dvc pull` failed with remote 's3' (s3://penguins/store at http://127.0.0.1:9000): 3 files failed to upload"),
])  # fmt: skip
def test_each_dvc_failure_becomes_one_line_naming_the_remote(stderr: str, expected: str) -> None:
    line = explain(stderr, S3, "pull")
    assert expected in line
    assert "\n" not in line


def test_messages_never_carry_credentials() -> None:
    config = {"remote": {"s3": {"url": "s3://b/p", "access_key_id": "AKIASECRETKEY", "secret_access_key": "shh"}}}
    remote = remote_from_config(config, "s3")
    assert remote is not None
    for stderr in (WRONG_SECRET, WRONG_KEY, NO_BUCKET, REFUSED, SILENT, CORRUPT):
        line = explain(stderr, remote, "push")
        assert "AKIASECRETKEY" not in line
        assert "shh" not in line


def test_the_remote_is_the_named_or_the_default_one() -> None:
    config: dict[str, Any] = {
        "core": {"remote": "team"},
        "remote": {"team": {"url": "/mnt/share/penguins"}, "s3": {"url": "s3://b/p", "read_timeout": "10"}},
    }
    assert remote_from_config(config, None) == Remote("team", "/mnt/share/penguins")
    assert remote_from_config(config, "s3") == Remote("s3", "s3://b/p", read_timeout=10.0)
    assert remote_from_config({"core": {}}, None) is None
    with pytest.raises(PipelineError, match="there is no DVC remote named 'nas'"):
        remote_from_config(config, "nas")


def test_add_gives_every_remote_verify_and_s3_remotes_timeouts() -> None:
    assert add_commands("team", "/mnt/share", endpoint=None, default=True, local=False, force=False) == [
        ["remote", "add", "-d", "team", "/mnt/share"],
        ["remote", "modify", "team", "verify", "true"],
    ]
    commands = add_commands("s3", "s3://b/p", endpoint="http://minio:9000", default=False, local=True, force=True)
    assert commands == [
        ["remote", "add", "--local", "-f", "s3", "s3://b/p"],
        ["remote", "modify", "--local", "s3", "verify", "true"],
        ["remote", "modify", "--local", "s3", "connect_timeout", "5"],
        ["remote", "modify", "--local", "s3", "read_timeout", "10"],
        ["remote", "modify", "--local", "s3", "endpointurl", "http://minio:9000"],
    ]
    with pytest.raises(PipelineError, match="--endpoint is for s3:// remotes"):
        add_commands("team", "/mnt/share", endpoint="http://x", default=False, local=False, force=False)


def test_what_a_pull_wrote_and_what_dvc_lock_expects() -> None:
    stdout = "A       data/clean/penguins.csv\nM       models/model.keras\n2 files fetched and 2 files added\n"
    assert pulled_paths(stdout) == ["data/clean/penguins.csv", "models/model.keras"]
    assert checkout_failures(CORRUPT) == ["data/predictions/test.csv"]
    assert checkout_failures(NO_REMOTE) == ["data/predictions/test.csv", "data/clean/penguins.csv"]
    assert last_error(WRONG_KEY).startswith("The AWS Access Key Id you provided does not exist")


# ---- what dvc.yaml must declare --------------------------------------------------------------


def dvc_yaml() -> dict[str, Any]:
    return read_yaml(ROOT / "dvc.yaml")


def test_the_model_is_declared_as_an_artifact() -> None:
    pipeline = dvc_yaml()
    artifact = pipeline["artifacts"]["penguin-classifier"]
    check_name_format("penguin-classifier")  # GTO's rules: tags penguin-classifier@v1.0.0 work
    assert artifact["type"] == "model"
    assert artifact["path"] == "models/model.keras"
    assert artifact["path"] in pipeline["stages"]["train"]["outs"]  # cached: fetched from the remote
    assert artifact["desc"]
    assert artifact["labels"]


# ---- the CI workflow's remote steps -----------------------------------------------------------


def workflow_steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load((ROOT / ".github/workflows/pipeline.yml").read_text())  # GitHub reads it, not DVC
    return workflow["jobs"]["test-and-check"]["steps"]


def test_ci_uses_the_remote_only_when_its_secrets_are_set_and_pushes_only_on_main() -> None:
    steps = workflow_steps()
    remote = [s for s in steps if ".ci/dvc-remote" in s.get("run", "")]
    assert [s["run"].split()[-1] for s in remote] == ["configure", "pull", "repro", "push"]
    for step in remote:
        assert step["if"].startswith("env.DVC_REMOTE_URL != ''"), step["name"]
    assert "github.ref == 'refs/heads/main'" in remote[-1]["if"]
    assert "github.event_name == 'push'" in remote[-1]["if"]
    names = [s.get("name", "") for s in steps]
    assert names.index(remote[0]["name"]) > names.index("Reproducibility check")  # tests and check run first
    for step in steps:  # credentials go only to the steps that use the remote, never into a command line
        assert "secrets." not in step.get("run", "")
        if step not in remote:
            assert not any("AWS_" in key for key in step.get("env", {})), step.get("name")


def test_the_ci_script_is_executable_and_refuses_an_unknown_step() -> None:
    script = ROOT / ".ci/dvc-remote"
    assert os.access(script, os.X_OK)
    env = {**os.environ, "DVC_REMOTE_URL": "/nowhere"}
    proc = subprocess.run(["bash", str(script), "deploy"], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: .ci/dvc-remote configure|pull|repro|push")


def test_team_umask_lets_the_group_read_and_keeps_the_rest() -> None:
    assert team_umask(0o077) == 0o027
    assert team_umask(0o022) == 0o022
    assert team_umask(0o002) == 0o002
    assert is_local("/shared/dvc-remote") and is_local("file:///shared/r") and not is_local("s3://bucket/x")


def test_a_push_under_umask_077_leaves_a_local_remote_readable_by_the_group(tmp_path: Path) -> None:
    """The real dvc, a real local remote: every directory and file it pushed is readable by the group."""
    repo, remote = tmp_path / "repo", tmp_path / "remote"
    repo.mkdir()
    env = {**ENV, "DVC_NO_ANALYTICS": "1"}
    for cmd in (["git", "init", "-q"], [str(BIN / "dvc"), "init", "-q"], [str(BIN / "dvc"), "remote", "add", "-d",
                "team", str(remote)]):  # fmt: skip
        subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True)
    (repo / "data.csv").write_text("a,b\n1,2\n")
    subprocess.run([str(BIN / "dvc"), "add", "-q", "data.csv"], cwd=repo, env=env, check=True, capture_output=True)
    proc = subprocess.run(
        [str(BIN / "python"), "-m", "tools.remote", "push"],
        cwd=repo, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=False,
        preexec_fn=lambda: os.umask(0o077),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    written = [remote, *remote.rglob("*")]
    assert len(written) > 3
    for path in written:
        assert path.stat().st_mode & 0o040, f"{path} is not readable by the group: {oct(path.stat().st_mode)}"
