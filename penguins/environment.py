"""What can change TensorFlow's numbers besides code, params and data: the knobs this project pins, and a record
of this machine (Python, package versions, CPU) that explains a difference seen on another one.

No TensorFlow import here: `make check-repro` prints the record without loading TensorFlow. The record is
deliberately not a pipeline output: a machine name inside a file DVC hashes would make dvc.lock differ on
every other CPU even when the model's bytes are the same.
"""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path
from typing import Any

# Set before TensorFlow is imported (penguins.modeling does it first thing).
PINNED_ENV = {
    "TF_ENABLE_ONEDNN_OPTS": "0",  # oneDNN reorders float sums by CPU; off gives the same numbers on more CPUs
    "KERAS_BACKEND": "tensorflow",
}
TF_THREADS = {"intra_op": 1, "inter_op": 1}  # sums split across threads can round differently
PACKAGES = ("tensorflow-cpu", "tensorflow", "keras", "numpy", "pandas", "scikit-learn", "h5py", "dvc", "dvclive")


def cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown")


def environment_record() -> dict[str, Any]:
    """This machine: Python, platform, CPU, versions of the packages the numbers depend on, the pinned knobs."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu": cpu_model(),
        "packages": versions,
        "pinned_env": dict(PINNED_ENV),
        "tf_threads": dict(TF_THREADS),
    }
