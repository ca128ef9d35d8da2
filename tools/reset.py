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
4. the result is checked: no tracked file differs from HEAD by content.

Experiments (`dvc exp show`), the queue and the DVC cache are kept. Exit status 1, with one error line, when a
step fails (e.g. an output missing from the DVC cache: `dvc pull` or `dvc repro` makes it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from penguins.cli import run_cli, stage_parser
from penguins.errors import PipelineError
from tools.repo.run import dvc, last_error, run


def parse_status(porcelain: str) -> list[str]:
    """Paths from `git status --porcelain=v1 -z --untracked-files=no` (after read-tree: worktree changes only)."""
    return [entry[3:] for entry in porcelain.split("\0") if len(entry) > 3]


def differing_files(repo: Path) -> list[str]:
    """Tracked files whose content differs from HEAD. Reading HEAD into the index drops the index's timestamps
    (and anything staged), so git compares each file's content instead of trusting its modification time."""
    git(repo, "read-tree", "HEAD")
    return parse_status(git(repo, "status", "--porcelain=v1", "-z", "--untracked-files=no", strip=False))


def git(repo: Path, *args: str, strip: bool = True) -> str:
    """A git command's output; its failure as one PipelineError line."""
    proc = run(["git", *args], cwd=repo, check=False)
    if proc.returncode != 0:
        raise PipelineError(
            f"git {args[0]} failed in {repo}: {last_error(proc.stderr + proc.stdout)}; "
            "fix that and run `make reset` again"
        )
    return proc.stdout.strip() if strip else proc.stdout


def checkout_problem(output: str) -> str:
    """`dvc checkout`'s failure as one line: the outputs missing from the DVC cache, or its last error."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if any("Checkout failed for following targets" in line for line in lines):
        start = next(i for i, line in enumerate(lines) if "Checkout failed for following targets" in line) + 1
        missing = [line for line in lines[start:] if not line.startswith(("Is your cache", "<http"))]
        return (
            f"dvc checkout: {len(missing)} output(s) missing from the DVC cache ({', '.join(sorted(missing))}); "
            "the git-tracked files are restored; `dvc pull` (from a remote) or `dvc repro` makes the rest"
        )
    errors = [line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR")]
    return f"dvc checkout failed: {(errors or lines or ['no output'])[-1]}"


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
        raise PipelineError(checkout_problem(checkout.stderr + checkout.stdout))
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
