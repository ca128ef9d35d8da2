"""Output paths a user gives (report -o, check-repro --report, slurm --dir, SWEEP_REPORT) and every atomic write:
a path that cannot be written is refused in one line naming why, before any work, and nothing is written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from penguins.errors import PipelineError
from penguins.io import output_problem, write_bytes
from tests.conftest import ROOT
from tools.check_repro.cli import main as check_repro_main
from tools.report.cli import main as report_main
from tools.slurm import main as slurm_main


@pytest.fixture
def place(tmp_path: Path) -> Path:
    """A directory with a file, a directory, a dangling symlink and a loop of two symlinks."""
    (tmp_path / "file").write_text("keep\n")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dangling").symlink_to(tmp_path / "gone" / "x")
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    os.mkfifo(tmp_path / "fifo")
    return tmp_path


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() if p.is_file() else "" for p in sorted(root.rglob("*"))}


def test_a_device_is_never_replaced() -> None:
    assert output_problem(Path("/dev/null")) == "/dev/null is a device, not a file: give a file path"


CLASSES: list[tuple[str, str]] = [
    ("file/out.html", "{place}/file is a file, not a directory: choose another path"),  # the example
    ("file/sub/out.html", "{place}/file is a file, not a directory: choose another path"),
    ("dir", "{place}/dir is a directory, not a file: give a file path"),
    ("fifo", "{place}/fifo is a named pipe (FIFO), not a file: give a file path"),  # never replaced by the rename
    ("dangling", "{place}/dangling is a symlink to {place}/gone/x, which does not exist: fix or remove the link"),
    ("dangling/out.html", "{place}/dangling is a symlink to {place}/gone/x, which does not exist"),
    ("loop1/out.html", "{place}/loop1 is a symlink to loop2, which is part of a loop of symlinks: fix or remove"),
    ("n" * 250 + ".html", "is 255 bytes long, at most"),  # fits alone, not with the temporary's ~20 more
    ("d" * 300 + "/out.html", "is 300 bytes long, at most 255 fit here: shorten it"),
]


@pytest.mark.parametrize(("name", "why"), CLASSES, ids=[c[0][:20] for c in CLASSES])
def test_every_atomic_write_refuses_a_path_it_cannot_write_in_one_line(place: Path, name: str, why: str) -> None:
    before = snapshot(place)
    with pytest.raises(PipelineError) as refused:
        write_bytes(place / name, b"x")
    message = str(refused.value)
    assert why.format(place=place) in message, message
    assert message.endswith("; nothing was written") and "\n" not in message and len(message) < 400
    assert snapshot(place) == before


def test_a_path_that_can_be_written_is_and_its_missing_directories_made(place: Path) -> None:
    assert output_problem(place / "new" / "deeper" / "out.html") is None
    write_bytes(place / "new" / "deeper" / "out.html", b"x")
    assert (place / "new" / "deeper" / "out.html").read_bytes() == b"x"
    assert output_problem(place / "dir", directory=True) is None
    assert (
        output_problem(place / "file", directory=True)
        == f"{place}/file is a file, not a directory: choose another path"
    )


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A read-only tmpfs (root only; skipped otherwise)."""
    mount = tmp_path / "ro"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs (needs root): {proc.stderr.decode().strip() or proc.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_read_only_file_system_is_named(read_only_dir: Path) -> None:
    with pytest.raises(PipelineError) as refused:
        write_bytes(read_only_dir / "sub" / "out.html", b"x")
    assert str(refused.value) == (
        f"{read_only_dir}/sub/out.html: cannot write it: {read_only_dir} is on a read-only file system: write "
        "somewhere else; nothing was written"
    )


def as_another_user() -> list[str] | None:
    """The command that runs Python as a user without root's powers over permissions: this interpreter when we are
    not root; as root, the system's Python of our version as `nobody`, with our packages; None if neither."""
    if os.geteuid() != 0:
        return [sys.executable]
    system = Path("/usr/bin/python3")
    if not (shutil.which("setpriv") and system.is_file()):
        return None
    version = subprocess.run(
        [system, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True, check=False
    )
    if version.stdout.strip() != str(sys.version_info[:2]):
        return None
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(system)]


def test_a_directory_this_user_may_not_write_in_is_named(tmp_path: Path) -> None:
    python = as_another_user()
    if python is None:
        pytest.skip("as root, permissions do not apply, and there is no setpriv and system Python to drop them")
    searchable = Path(tempfile.mkdtemp(prefix="output-paths-"))  # pytest's own directory is root's only
    searchable.chmod(0o755)
    try:
        shown = unwritable(python, searchable)
    finally:
        shutil.rmtree(searchable)
    assert shown == (
        f"penguins.errors.PipelineError: {searchable}/locked/out.html: cannot write it: {searchable}/locked may not be "
        "written by this user (permissions): write somewhere else; nothing was written"
    )


def reachable_by_others(path: Path) -> bool:
    """Whether a user who is neither root nor the owner may enter every directory down to ``path``."""
    return all(part.stat().st_mode & 0o001 for part in (path, *path.parents))


def unwritable(python: list[str], parent: Path) -> str:
    locked = parent / "locked"
    locked.mkdir(mode=0o555)
    site = next(p for p in sys.path if p.endswith("site-packages"))
    if os.geteuid() == 0 and not reachable_by_others(Path(site)):  # a .venv under a private temporary directory
        pytest.skip(f"{site} is private to root: `nobody` cannot import the packages")
    package = shutil.copytree(ROOT / "penguins", parent / "code" / "penguins")  # the checkout may be private too
    code = (
        f"import sys; sys.path[:0] = [{str(package.parent)!r}, {site!r}]\n"
        "from pathlib import Path; from penguins.io import write_bytes\n"
        f"write_bytes(Path({str(locked / 'out.html')!r}), b'x')"
    )
    proc = subprocess.run([*python, "-c", code], capture_output=True, text=True, cwd="/", check=False)
    assert not list(locked.iterdir())
    return proc.stderr.strip().splitlines()[-1]


# ---- the tools: refused before any work ----------------------------------------------------------------


def test_report_refuses_its_output_path_before_running_dvc(place: Path) -> None:
    before = snapshot(place)
    for output, why in [
        (place / "file" / "index.html", f"{place}/file is a file, not a directory"),
        (place / "file" / "", f"{place}/file is a file, not a directory"),  # `-o file/`: file/index.html
        (place / "dangling", f"{place}/dangling is a symlink to {place}/gone/x, which does not exist"),
    ]:
        with pytest.raises(PipelineError) as refused:
            report_main([f"-o{output}{os.sep if str(output).endswith('file') else ''}"])
        assert why in str(refused.value) and str(refused.value).startswith(f"-o {output}")
        assert "cannot write the report" in str(refused.value)
    assert snapshot(place) == before


def test_check_repro_refuses_its_report_path_before_the_minutes_of_re_running(
    place: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(place / "repo")], check=True)
    assert check_repro_main(["--repo", str(place / "repo"), "--report", str(place / "file" / "r.md")]) == 1
    assert capsys.readouterr().err == (
        f"error: --report {place}/file/r.md: cannot write it: {place}/file is a file, not a directory: choose "
        "another path (nothing was checked)\n"
    )


def test_slurm_refuses_a_state_directory_it_cannot_make(place: Path) -> None:
    with pytest.raises(PipelineError, match=r"^--dir .*/file/state: cannot hold the cluster's state: .*/file is a"):
        slurm_main(["up", "--dir", str(place / "file" / "state")])  # before installing or starting anything


@pytest.mark.parametrize(
    ("report", "why"),
    [
        (lambda place: place / "dir", "is a directory: give a file path"),
        (lambda place: place / "file" / "r.md", "file is not a directory this job can write in"),
        (lambda place: place / "dangling" / "r.md", "dangling is not a directory this job can write in"),
    ],
)
def test_the_sweep_s_collect_job_refuses_its_report_path_before_cloning(
    place: Path, report: Callable[[Path], Path], why: str
) -> None:
    env = {**os.environ, "SLURM_SUBMIT_DIR": str(ROOT), "SWEEP_REPORT": str(report(place))}
    proc = subprocess.run(
        ["bash", str(ROOT / "slurm" / "collect.sbatch"), "-S", "train.seed=0"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: SWEEP_REPORT {report(place)}") and why in proc.stderr
    assert proc.stderr.count("\n") == 1
