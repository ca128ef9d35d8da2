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
import subprocess
import sys
import sysconfig
from pathlib import Path

from tools.repo.run import BIN


def venv_bytecode() -> dict[int, Path]:
    """{inode of a source file: its .pyc} in the site-packages of the virtualenv running the tests."""
    found = {}
    tag = sys.implementation.cache_tag
    for site in dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]):
        for pycache in Path(site).rglob("__pycache__"):
            for pyc in pycache.glob(f"*.{tag}.pyc"):
                source = pycache.parent / f"{pyc.name.removesuffix(f'.{tag}.pyc')}.py"
                if source.is_file():
                    found[source.stat().st_ino] = pyc
    return found


def link(source: Path, target: Path) -> None:
    """A hard link, unless ``target`` exists (a .pyc a wheel ships itself)."""
    if not target.exists():
        os.link(source, target)


def cache_with_bytecode(dest: Path, leave_out: str) -> Path | None:
    """Hard-link uv's cache into ``dest`` and the test venv's .pyc files beside the cached sources they were compiled
    from, but not for sources whose path matches the glob ``leave_out``. None when uv names no cache."""
    proc = subprocess.run([str(BIN / "uv"), "cache", "dir"], capture_output=True, text=True, check=False)
    source = Path(proc.stdout.strip())
    if proc.returncode != 0 or not source.is_dir():
        return None
    compiled = venv_bytecode()
    for root, dirs, files in os.walk(source):
        here = Path(root)
        target = dest / here.relative_to(source)
        target.mkdir(parents=True, exist_ok=True)
        # a wheel's .data directories are installed by their RECORD, which lists no .pyc: left as they are
        in_data = any(part.endswith(".data") for part in here.relative_to(source).parts)
        for name in [*dirs, *files]:
            path = here / name
            if path.is_symlink():  # uv's pointers to unpacked wheels (relative): as they are
                (target / name).symlink_to(path.readlink())
            elif name in files:
                link(path, target / name)
                pyc = compiled.get(path.stat().st_ino) if name.endswith(".py") and not in_data else None
                if pyc is not None and not fnmatch.fnmatch(str(path), leave_out):
                    (target / "__pycache__").mkdir(exist_ok=True)
                    link(pyc, target / "__pycache__" / pyc.name)
    return dest
