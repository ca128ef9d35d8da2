"""Where things are: the repository root, every file the pipeline reads or writes (as in dvc.yaml), and the
temporaries written beside them."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARAMS_FILE = ROOT / "params.yaml"


class Paths:
    """Every file the pipeline reads or writes, relative to the repository root (as in dvc.yaml)."""

    PARAMS_OK = Path("data/params.ok")
    RAW = Path("data/raw/penguins.csv")
    CLEAN = Path("data/clean/penguins.csv")
    ENCODED = Path("data/encoded/penguins.csv")
    CLASSES = Path("data/encoded/classes.json")
    TRAIN = Path("data/split/train.csv")
    TEST = Path("data/split/test.csv")
    MODEL = Path("models/model.keras")
    MODEL_CARD = Path("models/model.json")
    LIGHT_MODEL = Path("models/model.safetensors")  # penguins.light: the model for penguins-predict, without Keras
    LIVE = Path("dvclive")  # DVCLive's directory: training metrics.json and per-epoch plots/metrics/*.tsv
    METRICS = Path("metrics/metrics.json")
    CONFUSION = Path("plots/confusion.csv")
    PREDICTIONS = Path("data/predictions/test.csv")
    PAIRPLOT = Path("plots/pairplot.png")
    DATA_SUMMARY = Path("metrics/data_summary.json")
    TRAINING_CURVES = Path("plots/training_curves.png")
    CONFUSION_HEATMAP = Path("plots/confusion_heatmap.png")


def resolve(path: Path) -> Path:
    """Paths in this project are relative to the repository root, whatever the working directory."""
    return path if path.is_absolute() else ROOT / path


def outputs() -> list[Path]:
    """Every file path in Paths."""
    return [value for value in vars(Paths).values() if isinstance(value, Path)]


def temporary_prefix(path: Path) -> str:
    """How penguins.io names the temporary file it writes before renaming it over ``path``: hidden, beside it,
    with the writer's process id, so that a temporary whose writer is gone can be told from one being written."""
    return f".{path.name}.{os.getpid()}."


def _writer_is_gone(pid: str | None) -> bool:
    if pid is None:  # named before process ids were added: its writer ended long ago
        return True
    if int(pid) == os.getpid():  # this process has not written yet: an earlier process had the same id
        return True
    import psutil  # only when there is a candidate (rare): most runs never import it

    return not psutil.pid_exists(int(pid))


def stale_temporaries(path: Path) -> list[Path]:
    """Temporaries of ``path`` left by writers that were killed (SIGKILL, power loss) before they could remove them:
    ``.model.keras.<pid>.<8 random characters>[.unnormalised].keras`` whose process no longer runs."""
    full = resolve(path)
    pattern = re.compile(
        rf"\.{re.escape(full.name)}\.(?:(\d+)\.)?[a-z0-9_]{{8}}(?:\.unnormalised)?{re.escape(full.suffix)}"
    )
    try:
        candidates = [(entry, pattern.fullmatch(entry.name)) for entry in full.parent.iterdir()]
    except OSError:  # no such directory (yet)
        return []
    return sorted(entry for entry, match in candidates if match and _writer_is_gone(match.group(1)))


def remove_stale_temporaries(paths: Iterable[Path] | None = None) -> list[Path]:
    """Remove the stale temporaries of ``paths`` (default: every pipeline output); return what was removed.
    Run when a stage starts: otherwise a stage killed while saving would leave them in the workspace for good."""
    removed = []
    for path in outputs() if paths is None else paths:
        for temporary in stale_temporaries(path):
            try:
                temporary.unlink()
            except OSError:  # already gone (another process cleaned up) or not ours to remove: not worth failing
                continue
            removed.append(temporary)
    return removed
