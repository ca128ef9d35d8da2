"""reset: return the workspace to the committed baseline, e.g. after a failed experiment.

    python -m tools.reset        (or: make reset; without make: python tasks.py reset)

A failed `dvc exp run -S train.epochs=abc` leaves params.yaml as DVC rewrote it, and the next queued experiment
would start from that file. `git checkout -- . && dvc checkout` is not a reliable way back: DVC records the
original params.yaml in git's index and rewrites the file within the same second, often with the same size
(`epochs: abc` for `epochs: 100`), so git's timestamp check takes the file for unchanged and restores nothing.
This command does not trust those timestamps:

1. `git read-tree HEAD`: git's index is rebuilt from HEAD, without timestamps, so git compares every tracked
   file with HEAD by content; the files that differ are listed, and saved as a git stash first
   (`git stash pop` brings them back);
2. `git reset --hard`: every tracked file is restored to HEAD (params.yaml, dvc.lock, the git-tracked metrics
   and plots); untracked files are left alone;
3. `dvc checkout --force`: DVC's outputs (data, the model) are checked out to match the committed dvc.lock;
4. the result is checked: no tracked file differs from HEAD by content, and every output DVC restored has the
   md5 dvc.lock gives. DVC copies what its cache holds without re-reading it, so a damaged cache object (bit
   rot, an edit through a link) would come back as a wrong file: such an output is removed, with its cache
   object, and named; `dvc pull` (from a remote with `verify true`) or `dvc repro` makes it again.

Experiments (`dvc exp show`), the queue and the DVC cache are kept. Exit status 1, with one error line, when a
step fails (e.g. an output missing from the DVC cache: `dvc pull` or `dvc repro` makes it).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from penguins.cli import run_cli, stage_parser
from penguins.errors import PipelineError
from tools.repo import internals
from tools.repo.output import checkout_failures, last_error
from tools.repo.pipeline import cached_outputs, damaged_objects, damaged_outputs, lock_md5s, read_lock, read_pipeline
from tools.repo.run import dvc
from tools.repo.run import git as run_git


def parse_status(porcelain: str) -> list[str]:
    """Paths from `git status --porcelain=v1 -z --untracked-files=no` (after read-tree: worktree changes only)."""
    return [entry[3:] for entry in porcelain.split("\0") if len(entry) > 3]


def differing_files(repo: Path) -> list[str]:
    """Tracked files whose content differs from HEAD. Reading HEAD into the index drops the index's timestamps
    (and anything staged), so git compares each file's content instead of trusting its modification time."""
    git(repo, "read-tree", "HEAD")
    return parse_status(git(repo, "status", "--porcelain=v1", "-z", "--untracked-files=no", strip=False))


def git(repo: Path, *args: str, strip: bool = True) -> str:
    """tools.repo.run.git, its failure one line that also says what to do next."""
    try:
        out = run_git(repo, *args)
    except PipelineError as exc:
        raise PipelineError(f"{exc} (in {repo}); fix that and run `make reset` again") from None
    return out.strip() if strip else out


def checkout_problem(output: str) -> str:
    """`dvc checkout`'s failure as one line: the outputs missing from the DVC cache, or its last error."""
    missing = checkout_failures(output)
    if missing:
        return (
            f"dvc checkout: {len(missing)} output(s) missing from the DVC cache ({', '.join(sorted(missing))}); "
            "the git-tracked files are restored; `dvc pull` (from a remote) or `dvc repro` makes the rest"
        )
    errors = [line.strip().removeprefix("ERROR: ") for line in output.splitlines() if line.startswith("ERROR")]
    return f"dvc checkout failed: {(errors or [last_error(output)])[-1]}"


def drop_damaged(repo: Path) -> list[str]:
    """Outputs `dvc checkout` restored that are not the bytes dvc.lock names: removed, workspace and cache."""
    md5s = lock_md5s(read_lock(repo))
    damaged = damaged_outputs(
        repo, md5s, cached_outputs(read_pipeline(repo)), lambda md5: internals.cache_path(repo, md5)
    )
    for rel in damaged:
        target = repo / rel
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
        # a directory's damaged file objects too: `dvc pull` would skip the objects it thinks it has
        for obj in damaged_objects(md5s[rel], lambda md5: internals.cache_path(repo, md5)):
            obj.chmod(0o644)  # DVC makes cache files read-only
            obj.unlink()
    return list(damaged)


def reset(repo: Path) -> list[str]:
    """Restore every tracked file to HEAD and DVC's outputs to the committed dvc.lock; return what was restored."""
    git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    changed = differing_files(repo)
    if changed:
        stash = git(repo, "stash", "create", "make reset")
        if stash:
            git(repo, "stash", "store", "-m", f"make reset: {', '.join(changed)}", stash)
        for path in changed:
            print(f"reset: restored {path} (it differed from HEAD)")
        if stash:
            print("reset: the discarded changes are saved as stash@{0}: `git stash pop` brings them back")
    git(repo, "reset", "--hard", "--quiet", "HEAD")
    checkout = dvc("checkout", "--force", cwd=repo, check=False)
    if checkout.returncode != 0:
        raise PipelineError(checkout_problem(checkout.stderr))  # stdout lists what it did restore
    damaged = drop_damaged(repo)
    if damaged:
        raise PipelineError(
            f"the DVC cache holds damaged copies of {', '.join(damaged)} (md5 unlike dvc.lock's): removed them "
            "from the workspace and the cache; `dvc pull` (from a remote with `verify true`) or `dvc repro` "
            "makes them again"
        )
    left = differing_files(repo)
    if left:
        raise PipelineError(f"still differing from HEAD after the reset: {', '.join(left)}")
    head = git(repo, "rev-parse", "--short", "HEAD")
    print(f"reset: the workspace is HEAD ({head}): every tracked file, and DVC's outputs as dvc.lock lists them")
    return changed


def main(argv: Sequence[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the repository (default: current directory)")
    args = parser.parse_args(argv)
    reset(Path(git(args.repo, "rev-parse", "--show-toplevel")))


if __name__ == "__main__":
    run_cli(main)
