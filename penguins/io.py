"""Reading and writing pipeline files. Outputs are written to a temporary file beside the target and renamed
into place, so a failing stage never leaves a half-written file; every read problem is one PipelineError."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from penguins.errors import PipelineError
from penguins.paths import resolve, temporary_prefix

if TYPE_CHECKING:  # imported where used: validate_params and fetch need no pandas (docs/benchmarks.md)
    import numpy as np
    import pandas as pd

PARAMS_HINT = "check data.features / data.target in params.yaml"


@contextlib.contextmanager
def atomic_path(path: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    A process killed in the block (SIGKILL) leaves the temporary behind: the next stage to start removes it
    (penguins.paths.remove_stale_temporaries, called by penguins.cli.run_cli)."""
    path = resolve(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temporary_prefix(path), suffix=suffix or path.suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        tmp_path.chmod(0o644)
        tmp_path.replace(path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: Path, obj: Any) -> None:
    """Stable JSON: sorted keys, two-space indent, trailing newline."""
    write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def float_text(values: np.ndarray) -> np.ndarray:
    """What pandas' to_csv writes for a float64 column (NumPy's shortest repr, "" for NaN), formatted once per
    distinct value: a million rows of measurements have a few thousand, so writing takes half the time."""
    import numpy as np

    bits, inverse = np.unique(values.view(np.int64), return_inverse=True)  # by bits: -0.0 is not 0.0
    distinct = bits.view(np.float64)
    text = distinct.astype(str).astype(object)
    text[np.isnan(distinct)] = ""
    return text[inverse.reshape(-1)]


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """``frame.to_csv`` without the index, "\n" line ends; the same bytes, float64 columns formatted faster."""
    import numpy as np

    floats = [column for column, dtype in frame.dtypes.items() if dtype == np.float64]
    if floats and frame.columns.is_unique:
        frame = frame.assign(**{str(c): float_text(frame[c].to_numpy()) for c in floats})
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(resolve(path).read_text())
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found; run the stage that makes it first (dvc repro)") from None
    except json.JSONDecodeError as exc:
        raise PipelineError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def require_columns(frame: pd.DataFrame, required: Sequence[str], source: str, hint: str = PARAMS_HINT) -> None:
    """Raise naming the first of ``required`` that ``frame`` lacks, ending with ``hint``."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        has = ", ".join(map(str, frame.columns))
        raise PipelineError(f"{source}: missing column {missing[0]!r} (has: {has}); {hint}")


def parse_csv(
    source: Path | IO[str], name: str, required: Sequence[str] = (), hint: str = PARAMS_HINT, sep: str = ","
) -> pd.DataFrame:
    """pd.read_csv of a file or an open text stream (e.g. stdin), every problem one PipelineError naming
    ``name``: empty, unreadable, rows wider than the header, a missing ``required`` column, no data rows.
    A missing file raises FileNotFoundError: callers know what to suggest."""
    import pandas as pd

    try:
        frame = pd.read_csv(source, sep=sep)
    except FileNotFoundError:
        raise
    except pd.errors.EmptyDataError:
        raise PipelineError(f"{name}: file is empty; expected a CSV with a header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{name}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    except OSError as exc:
        raise PipelineError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if not isinstance(frame.index, pd.RangeIndex):  # pandas silently turns extra leading fields into an index
        raise PipelineError(
            f"{name}: the data rows have more fields than the header's {frame.shape[1]} names; "
            "check the header and the delimiter"
        )
    require_columns(frame, required, name, hint)
    if frame.empty:
        raise PipelineError(f"{name}: has a header but no data rows")
    return frame


def read_csv(path: Path, required: Sequence[str] = (), sep: str = ",", hint: str = PARAMS_HINT) -> pd.DataFrame:
    """Read a pipeline CSV (or TSV with sep="\\t"), failing clearly if it is missing, empty or lacks one of the
    ``required`` columns (the message then ends with ``hint``)."""
    try:
        return parse_csv(resolve(path), str(path), required, hint=hint, sep=sep)
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found; run the stage that makes it first (dvc repro)") from None
