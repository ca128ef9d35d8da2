"""Where things are: the repository root and every file the pipeline reads or writes (as in dvc.yaml)."""

from __future__ import annotations

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
