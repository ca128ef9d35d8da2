"""penguins/errors.py's one_line (any pydantic error as one line naming key and value) and penguins/cli.py
(usage errors and PipelineErrors become one `error: ...` line and exit status 1), on a model made up here."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from typing import Annotated, Any, Self

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from penguins.cli import CliParser, run_cli, stage_parser
from penguins.errors import PipelineError, one_line
from tools.repo.run import ENV


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    size: Annotated[int, Field(ge=1)]
    names: Annotated[tuple[str, ...], Field(strict=False)]

    @model_validator(mode="after")
    def _not_seven(self) -> Self:
        if self.size == 7:
            raise ValueError("inner.size 7 is reserved")
        return self


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    inner: Inner
    flag: bool


GOOD = {"inner": {"size": 1, "names": ["a"]}, "flag": True}


def message(raw: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as err:
        Outer.model_validate(raw)
    return one_line(err.value, Outer, "src.yaml")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({**GOOD, "inner": {"size": 0, "names": ["a"]}}, "inner.size must be greater than or equal to 1, got 0"),
        ({**GOOD, "inner": {"size": 1, "names": ["a", 3]}}, "inner.names[1] must be a valid string, got 3"),
        (
            {**GOOD, "inner": {"size": 1, "names": [], "colour": 1}},
            "unknown key inner.colour (known in 'inner': size, names)",
        ),
        ({**GOOD, "extra": 1}, "unknown key extra (known: inner, flag)"),
        ({**GOOD, "inner": {"names": []}}, "inner.size must be set"),
        ({**GOOD, "inner": {"size": 7, "names": []}}, "inner.size 7 is reserved"),  # a model's own rule, as raised
        ({**GOOD, "flag": "multi\nline"}, "flag must be a valid boolean, got 'multi\\nline'"),  # the value's repr
        ({**GOOD, "inner": "big"}, "inner must be a mapping, got 'big'"),
    ],
)
def test_one_line_names_the_key_and_the_value(raw: dict[str, Any], expected: str) -> None:
    assert message(raw) == f"src.yaml: {expected}"


def test_one_line_reports_only_the_first_of_several_problems() -> None:
    text = message({"inner": {"size": 0, "names": [1]}, "flag": 2, "zzz": 1})
    assert text == "src.yaml: inner.size must be greater than or equal to 1, got 0"


# ---- the command-line shell ---------------------------------------------------------------------


def test_usage_errors_are_pipeline_errors() -> None:
    with pytest.raises(PipelineError) as err:
        CliParser().parse_args(["--nope"])
    assert str(err.value) == "unrecognized arguments: --nope (see --help)"


def test_help_comes_from_the_module_docstring() -> None:
    parser = stage_parser("summary line.\n\nInput:  a.csv\nOutput: b.csv\n", prog="python -m stages.x")
    text = parser.format_help()
    assert text.startswith("usage: python -m stages.x [-h]\n\nsummary line.\n")
    assert text.endswith("Input:  a.csv\nOutput: b.csv\n")  # the details keep their layout


def raising(exc: BaseException) -> Any:
    def main(argv: Sequence[str] | None) -> None:
        raise exc

    return main


@pytest.mark.parametrize(
    ("exc", "status", "stderr"),
    [
        (PipelineError("a problem the user can fix"), 1, "error: a problem the user can fix\n"),
        (KeyboardInterrupt(), 130, "error: interrupted\n"),
    ],
)
def test_run_cli_turns_errors_into_one_line_and_a_status(
    exc: BaseException, status: int, stderr: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(raising(exc), [])
    assert exit_info.value.code == status
    assert capsys.readouterr() == ("", stderr)


def test_run_cli_lets_bugs_through() -> None:
    """Anything but a PipelineError is a bug: its traceback must not be hidden behind one line."""
    with pytest.raises(ZeroDivisionError):
        run_cli(raising(ZeroDivisionError()), [])


TEARDOWN_SCRIPT = """
import atexit, sys
from penguins.cli import run_stage
from penguins.errors import PipelineError

class Freed:
    def __del__(self):
        print("teardown ran", flush=True)

kept = Freed()  # a module-level object: freed (and so printed) only by the interpreter's teardown
atexit.register(lambda: print("atexit ran"))

def main(argv):
    print("main ran;", end=" ")  # not flushed: ending the process must flush it
    if sys.argv[1] == "fail":
        raise PipelineError("a problem")

run_stage(main)
print("not reached")
"""


@pytest.mark.parametrize(
    ("outcome", "status", "stdout", "stderr"),
    [
        ("succeed", 0, "main ran; atexit ran\n", ""),  # ended at once: atexit handlers yes, teardown no
        ("fail", 1, "main ran; atexit ran\nteardown ran\n", "error: a problem\n"),  # an error exits as before
    ],
)
def test_run_cli_without_teardown_ends_at_once_after_success(
    outcome: str, status: int, stdout: str, stderr: str
) -> None:
    """run_stage (every stage's entry point: run_cli with teardown=False): after main() the process ends with
    status 0, its output flushed and its atexit handlers run, without the interpreter's teardown."""
    proc = subprocess.run(
        [sys.executable, "-c", TEARDOWN_SCRIPT, outcome], env=ENV, capture_output=True, text=True, check=False
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (status, stdout, stderr)
