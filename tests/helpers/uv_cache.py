"""A copy of uv's cache whose unpacked wheels already hold their bytecode, for the fresh-venv test.

uv 0.13 caches unpacked wheels but not the .pyc files that `--compile-bytecode` writes (astral-sh/uv#18668), so
each fresh venv compiles all ~17,000 source files again: 30 of the test's 40 CPU seconds. uv links a wheel's files
from the cache (hard links) and its compile step skips a file whose .pyc is already valid (source mtime and size,
unchanged through a hard link). This copy (hard links: no bytes copied) adds to each cached wheel the .pyc files
that the virtualenv running the tests got for the same files, except those matching ``leave_out``: only uv's
`--compile-bytecode` can write those, which is what the test checks. Where the test's venv was not installed by
hard links from this cache (pip, another file system), nothing is added and uv compiles everything, as before.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tools.repo.run import BIN


def venv_bytecode() -> dict[tuple[int, int], Path]:
    """{(device, inode) of a source file: its .pyc} in the site-packages of the virtualenv running the tests."""
    found = {}
    tag = sys.implementation.cache_tag
    for site in dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]):
        for pycache in Path(site).rglob("__pycache__"):
            for pyc in pycache.glob(f"*.{tag}.pyc"):
                source = pycache.parent / f"{pyc.name.removesuffix(f'.{tag}.pyc')}.py"
                if source.is_file():
                    found[(stat := source.stat()).st_dev, stat.st_ino] = pyc
    return found


def link(source: Path, target: Path) -> None:
    """A hard link, unless ``target`` exists (a .pyc a wheel ships itself)."""
    if not target.exists():
        os.link(source, target)


def cache_with_bytecode(dest: Path, leave_out: str) -> Path | None:
    """Hard-link uv's cache into ``dest`` and the test venv's .pyc files beside the cached sources they were compiled
    from, but not for sources whose path matches the glob ``leave_out``. None (the test then uses uv's own cache,
    and uv compiles everything) when uv names no cache or the copy cannot be made: no hard links across file
    systems or for another user's files, or an entry another uv removed meanwhile. Relies on uv 0.13's cache
    layout (uv is pinned in requirements.txt): unpacked wheels as directories, symlinks pointing at them, .lock
    files (made anew here, so that this copy's uv never shares a lock with another uv)."""
    uv = BIN / "uv"
    if not uv.is_file():
        return None
    proc = subprocess.run([str(uv), "cache", "dir"], capture_output=True, text=True, check=False)
    source = Path(proc.stdout.strip())
    if proc.returncode != 0 or not source.is_dir():
        return None
    try:
        copy_cache(source, dest, venv_bytecode(), leave_out)
    except OSError:
        shutil.rmtree(dest, ignore_errors=True)
        return None
    return dest


def copy_cache(source: Path, dest: Path, compiled: dict[tuple[int, int], Path], leave_out: str) -> None:
    for root, dirs, files in os.walk(source):
        here = Path(root)
        dirs[:] = [name for name in dirs if not name.startswith(".tmp")]  # another uv's work in progress
        target = dest / here.relative_to(source)
        target.mkdir(parents=True, exist_ok=True)
        # a wheel's .data directories are installed by their RECORD, which lists no .pyc: left as they are
        in_data = any(part.endswith(".data") for part in here.relative_to(source).parts)
        for name in [*dirs, *files]:
            path = here / name
            if path.is_symlink():  # uv's pointers to unpacked wheels (relative): as they are
                (target / name).symlink_to(path.readlink())
            elif name.endswith(".lock") and name in files:
                (target / name).touch()
            elif name in files:
                link(path, target / name)
                stat = path.stat()
                pyc = compiled.get((stat.st_dev, stat.st_ino)) if name.endswith(".py") and not in_data else None
                if pyc is not None and not fnmatch.fnmatch(str(path), leave_out):
                    (target / "__pycache__").mkdir(exist_ok=True)
                    link(pyc, target / "__pycache__" / pyc.name)
