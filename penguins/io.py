"""Reading and writing pipeline files. Outputs are written to a temporary file beside the target and renamed
into place, so a failing stage never leaves a half-written file; every read problem is one PipelineError."""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import shutil
import stat
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
    shown, path = path, resolve(path)
    if problem := output_problem(path, suffix=suffix):
        raise PipelineError(f"{abbreviated(shown)}: cannot write it: {problem}; nothing was written")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temporary_prefix(path), suffix=suffix or path.suffix)
        os.close(fd)
    except OSError as exc:  # found only by trying (a race, an ACL, a quota): still one line
        raise disk_full(shown, exc) or PipelineError(
            f"{abbreviated(shown)}: cannot write it in {abbreviated(path.parent)}: {exc.strerror or exc}; "
            "nothing was written: choose another path"
        ) from None
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        tmp_path.chmod(0o644)
        tmp_path.replace(path)
    except OSError as exc:
        raise disk_full(shown, exc) or exc from None
    finally:
        tmp_path.unlink(missing_ok=True)


def output_problem(path: Path, *, directory: bool = False, suffix: str | None = None) -> str | None:
    """Why no file (``directory``: no directory) can be written at ``path``, found before writing anything: a
    file or a dangling symlink where a directory is needed, a directory where the file goes, a name too long,
    a directory that may not be written (permissions, a read-only file system). None: it can be tried (a full
    disk shows only then). Tools call it before their work, atomic_path before every write."""
    path = Path(path).absolute()
    nearest = Path(path.anchor)  # the deepest directory that exists: where the new file or directories go
    problem = too_long(path, directory=directory, suffix=suffix)
    for node in [*reversed(path.parents), path][1:]:
        if problem:
            break
        try:
            if node.is_symlink() and not node.exists():
                what = "is part of a loop of symlinks" if symlink_loop(node) else "does not exist"
                problem = f"{node} is a symlink to {node.readlink()}, which {what}: fix or remove the link"
            elif not node.exists():
                break
            elif node.is_dir():
                nearest = node
            elif node != path or directory:
                problem = f"{node} is a file, not a directory: choose another path"
        except OSError as exc:  # a symlink loop, a directory that may not be searched
            problem = f"{node}: {exc.strerror or exc}: choose another path"
    if not problem and not directory and (kind := not_a_file(path)):
        problem = f"{path} is {kind}, not a file: give a file path"
    return problem or not_writable(nearest)


def not_a_file(path: Path) -> str | None:
    """What an existing ``path`` is when it is not a regular file (the rename would replace a device, a pipe)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    return (
        "a directory"
        if stat.S_ISDIR(mode)
        else "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else ("a socket" if stat.S_ISSOCK(mode) else "a device")
    )


def symlink_loop(path: Path) -> bool:
    try:
        path.stat()
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def not_writable(directory: Path) -> str | None:
    if os.access(directory, os.W_OK | os.X_OK):
        return None
    read_only = hasattr(os, "statvfs") and bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    why = "is on a read-only file system" if read_only else "may not be written by this user (permissions)"
    return f"{directory} {why}: write somewhere else"


def abbreviated(path: Path | str, keep: int = 100) -> str:
    """A path as said in a message, its middle left out when longer than ``keep`` characters."""
    text = str(path)
    return text if len(text) <= keep else f"{text[: keep // 2]}...{text[-(keep // 2) :]}"


def too_long(path: Path, *, directory: bool, suffix: str | None) -> str | None:
    """A name or path longer than the file system takes, counting the temporary that atomic_path writes first
    (.NAME.PID.RANDOM.SUFFIX, ~20 characters more than NAME)."""
    try:
        name_max, path_max = os.pathconf(path.anchor, "PC_NAME_MAX"), os.pathconf(path.anchor, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):  # Windows has no pathconf
        name_max, path_max = 255, 4096
    extra = 0 if directory else len(temporary_prefix(path)) - len(path.name) + 8 + len(suffix or path.suffix)
    if len(str(path).encode()) + extra >= path_max:
        return f"the path is {len(str(path))} characters long, more than this system takes ({path_max}): shorten it"
    for place, part in enumerate(path.parts, start=1):
        longest = name_max - (extra if place == len(path.parts) else 0)
        if len(part.encode()) > longest:
            shown = abbreviated(part, 30)
            return f"the name {shown!r} is {len(part.encode())} bytes long, at most {longest} fit here: shorten it"
    return None


def disk_full(path: Path, exc: BaseException) -> PipelineError | None:
    """The one line for a write that ran out of space (a full disk or quota), naming the file and the free space;
    None for any other error. Libraries that write for us (h5py under Keras) keep only the text of errno 28."""
    if getattr(exc, "errno", None) not in (errno.ENOSPC, errno.EDQUOT) and "No space left" not in str(exc):
        return None
    where = resolve(path).parent
    try:
        left = shutil.disk_usage(where).free
        free = f"{left / 2**20:.1f} MiB free" if left >= 2**20 else f"{left // 1024} KiB free"
    except OSError:
        free = "free space unknown"
    return PipelineError(
        f"{path}: disk full while writing it ({free} in {where}); nothing was replaced: "
        "free some space and re-run the stage"
    )


def file_md5(path: Path) -> str:
    """A file's md5, as DVC records it in dvc.lock (read in blocks: models and data may be large)."""
    import hashlib

    with path.open("rb") as file:
        return hashlib.file_digest(file, "md5").hexdigest()


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
    """Raise naming the first of ``required`` that ``frame`` lacks, ending with ``hint`` (or, for a header read as
    one column that holds another delimiter, naming that delimiter)."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        has = ", ".join(map(str, frame.columns))
        other = next((d for d in OTHER_DELIMITERS if len(frame.columns) == 1 and d in str(frame.columns[0])), None)
        if other is not None:
            hint = (
                f"the header is one column holding {other!r}: the file is {DELIMITER_NAMES[other]}-delimited, "
                "the pipeline reads comma-separated CSV; re-save it with commas"
            )
        raise PipelineError(f"{source}: missing column {missing[0]!r} (has: {has}); {hint}")


OTHER_DELIMITERS = (";", "\t", "|")
DELIMITER_NAMES = {";": "semicolon", "\t": "tab", "|": "pipe"}
# What pandas reads as NA by default (its documented na_values), kept for every column but a labels column.
NA_TEXTS = (
    *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>"),
    *("N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
)


def not_utf8(name: str, exc: UnicodeDecodeError) -> PipelineError:
    byte = exc.object[exc.start : exc.start + 1].hex()
    fix = (
        "pipe it through iconv, e.g. `iconv -f latin1 -t utf-8 FILE | penguins-predict --csv -`"
        if name == "stdin"
        else f"re-save it as UTF-8, e.g. `iconv -f latin1 -t utf-8 {name} > fixed.csv`"
    )
    return PipelineError(
        f"{name}: not UTF-8 text (byte 0x{byte} at offset {exc.start}, e.g. Latin-1 or Windows-1252); {fix}"
    )


def utf8_text(stream: IO[str], name: str) -> str:
    """All of a text stream, refused in one line (not_utf8) if it holds bytes that are not UTF-8: Python's stdin
    decodes them as lone surrogates (errors="surrogateescape"), which pandas fails on with a traceback."""
    try:
        text = stream.read()
    except UnicodeDecodeError as exc:  # a strict stream (PYTHONIOENCODING=utf-8:strict); offset within its buffer
        raise not_utf8(name, exc) from None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        try:
            text.encode("utf-8", "surrogateescape").decode("utf-8")
        except UnicodeDecodeError as bad:
            raise not_utf8(name, bad) from None
        except UnicodeEncodeError:
            pass
        raise PipelineError(
            f"{name}: not UTF-8 text (character {exc.start}); re-encode it as UTF-8 and try again"
        ) from None
    return text


def header(source: Path | IO[str], name: str, sep: str) -> list[str]:
    """The header row's names as written (pandas renames a repeated name x to x.1, which hides the mistake)."""
    try:
        if isinstance(source, Path):
            with source.open(encoding="utf-8", newline="") as file:
                return next(csv.reader(file, delimiter=sep), [])
        return next(csv.reader(source, delimiter=sep), [])
    except UnicodeDecodeError as exc:
        raise not_utf8(name, exc) from None
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise PipelineError(f"{name}: cannot read ({exc.strerror or exc})") from None
    except csv.Error:
        return []  # pandas says what is wrong with the file


def parse_csv(
    source: Path | IO[str],
    name: str,
    required: Sequence[str] = (),
    hint: str = PARAMS_HINT,
    sep: str = ",",
    labels: Sequence[str] = (),
) -> pd.DataFrame:
    """pd.read_csv of a file or an open text stream (e.g. stdin), every problem one PipelineError naming
    ``name``: empty, unreadable, not UTF-8, a repeated column name, rows wider than the header, a missing
    ``required`` column, no data rows. A missing file raises FileNotFoundError: callers know what to suggest.

    ``labels``: class-label columns, read as text as written (a class named NA is not a missing value; "1" is
    matched against data.classes by penguins.tables.as_classes)."""
    if not isinstance(source, Path):
        source = io.StringIO(utf8_text(source, name))  # read twice: the header as written, then the table
    names = header(source, name, sep)
    if not isinstance(source, Path):
        source.seek(0)
    # An empty name (trailing commas, as Excel writes them) is no mistake: pandas names it Unnamed: N, which
    # clean ignores and predict's --ignore-extra drops.
    repeated = next((n for i, n in enumerate(names) if n and n in names[:i]), None)
    if repeated is not None:
        raise PipelineError(
            f"{name}: column {repeated!r} appears twice in the header (columns {names.index(repeated) + 1} and "
            f"{names.index(repeated, names.index(repeated) + 1) + 1}); keep one"
        )
    options: dict[str, Any] = {}
    text = [n for n in names if n in labels]
    if text:
        na_values = {n: [] if n in text else list(NA_TEXTS) for n in names}
        options = {"dtype": dict.fromkeys(text, str), "keep_default_na": False, "na_values": na_values}
    import pandas as pd  # here, not at the top: validate_params and fetch read no table

    try:
        frame = pd.read_csv(source, sep=sep, **options)
    except FileNotFoundError:
        raise
    except pd.errors.EmptyDataError:
        raise PipelineError(f"{name}: file is empty; expected a CSV with a header row") from None
    except UnicodeDecodeError as exc:
        raise not_utf8(name, exc) from None
    except pd.errors.ParserError as exc:
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


def read_csv(
    path: Path, required: Sequence[str] = (), sep: str = ",", hint: str = PARAMS_HINT, labels: Sequence[str] = ()
) -> pd.DataFrame:
    """Read a pipeline CSV (or TSV with sep="\\t"), failing clearly if it is missing, empty or lacks one of the
    ``required`` columns (the message then ends with ``hint``); ``labels`` as in parse_csv."""
    try:
        return parse_csv(resolve(path), str(path), required, hint=hint, sep=sep, labels=labels)
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found; run the stage that makes it first (dvc repro)") from None
