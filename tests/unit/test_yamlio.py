"""penguins.yamlio, one reading of params.yaml: the stages read the file exactly as DVC does (DVC's own YAML 1.2
loader), both as people write it and as `dvc exp run -S` rewrites it, so DVC and the stages never disagree about a
value; a YAML alias, which DVC would expand before any stage runs, is refused without expanding it."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from dvc.dependency.param import read_param_file
from dvc.fs import LocalFileSystem
from dvc.utils.hydra import apply_overrides

from penguins.errors import PipelineError
from penguins.params import load_params
from tests.conftest import ROOT

# How people write learning rates, and what they mean.
NOTATIONS = [("1e-3", 0.001), ("1.0e-3", 0.001), (".001", 0.001), ("5E-4", 0.0005), ("1e-2", 0.01), ("2.5e-1", 0.25)]


def params_with(tmp_path: Path, key: str, text: str) -> Path:
    """A copy of the committed params.yaml with ``key``'s value replaced by ``text``, as typed in an editor."""
    path = tmp_path / "params.yaml"
    source = (ROOT / "params.yaml").read_text()
    edited, count = re.subn(rf"^(  {key}:) *[^#\n]*?( *#.*)?$", rf"\1 {text}\2", source, count=1, flags=re.M)
    assert count == 1, key
    path.write_text(edited)
    return path


def dvc_reads(path: Path, section: str, key: str) -> object:
    """The value DVC itself compares with dvc.lock for `dvc status`: its params dependency's file reader."""
    return read_param_file(LocalFileSystem(), str(path), [f"{section}.{key}"], flatten=True)[f"{section}.{key}"]


@pytest.mark.parametrize(("text", "value"), NOTATIONS)
def test_scientific_notation_in_params_yaml_is_a_number(tmp_path: Path, text: str, value: float) -> None:
    path = params_with(tmp_path, "learning_rate", text)
    assert load_params(path).train.learning_rate == value
    assert dvc_reads(path, "train", "learning_rate") == value  # the same number DVC compares with dvc.lock


@pytest.mark.parametrize("given", [text for text, _ in NOTATIONS] + ["0.00001", "1e-5", "0.0000003"])
def test_values_set_with_dash_s_are_read_as_dvc_wrote_them(tmp_path: Path, given: str) -> None:
    """`dvc exp run -S train.learning_rate=X` rewrites params.yaml with DVC's own function (below); 0.00001 comes
    back as `1e-05`, which a YAML 1.1 reader would take for a string."""
    path = tmp_path / "params.yaml"
    shutil.copy(ROOT / "params.yaml", path)
    apply_overrides(path, [f"train.learning_rate={given}"])
    assert load_params(path).train.learning_rate == float(given)


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        # YAML 1.1 read these as true and as octal 8: DVC (YAML 1.2) reads the string 'yes' and the number 10.
        ("shuffle", "yes", "split.shuffle must be a valid boolean, got 'yes'"),
        ("normalize", "on", "train.normalize must be a valid boolean, got 'on'"),
    ],
)
def test_yaml_11_booleans_are_strings_as_for_dvc(tmp_path: Path, key: str, text: str, message: str) -> None:
    with pytest.raises(PipelineError) as err:
        load_params(params_with(tmp_path, key, text))
    assert str(err.value) == f"params.yaml: {message}"


def test_leading_zero_is_decimal_as_for_dvc(tmp_path: Path) -> None:
    path = params_with(tmp_path, "epochs", "010")
    assert load_params(path).train.epochs == 10 == dvc_reads(path, "train", "epochs")


def test_duplicate_key_is_refused_in_one_line(tmp_path: Path) -> None:
    """DVC refuses a params.yaml with a key given twice; YAML 1.1 readers silently kept the last one."""
    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text().replace("  epochs: 100", "  epochs: 100\n  epochs: 5"))
    with pytest.raises(PipelineError) as err:
        load_params(path)
    assert re.fullmatch(r'params\.yaml is not valid YAML: found duplicate key "epochs" .*\(line \d+, column 3\)',
                        str(err.value)), err.value  # fmt: skip


def test_no_yaml_11_reader_of_dvc_files() -> None:
    """Every Python file reads params.yaml, dvc.yaml and dvc.lock through penguins.yamlio.read_yaml (DVC's loader).
    PyYAML is left only for GitHub's workflow files, which GitHub reads, not DVC."""
    offenders = []
    for path in sorted(ROOT.glob("*.py")) + sorted(
        p for folder in ("penguins", "stages", "tools", "tests") for p in (ROOT / folder).rglob("*.py")
    ):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\byaml\.(safe_)?load\(", line) and not re.search(r"workflow|WORKFLOW|SWEEP|\.github", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, offenders


BOMB = "bomb:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
)


@pytest.mark.parametrize("tab", ["", "\t"], ids=["plain", "a tab after a colon"])
def test_an_alias_bomb_is_refused_without_expanding_it(tab: str, tmp_path: Path) -> None:
    """With a tab after a colon too, which libyaml (ruamel.yaml.clib: DVC's parser and loads_yaml's) accepts and
    ruamel's pure-Python parser refuses: the alias check must parse as they do, or it passes over the bomb."""
    params = tmp_path / "params.yaml"
    params.write_text((ROOT / "params.yaml").read_text() + BOMB.replace("bomb:\n", f"bomb:\n  tab:{tab} 0\n"))
    start = time.process_time()
    line = (ROOT / "params.yaml").read_text().count("\n") + 4
    with pytest.raises(PipelineError) as err:
        load_params(params)
    assert str(err.value) == (
        f"params.yaml: line {line}: YAML alias *a0 refused; DVC expands aliases before any stage runs "
        "(nested ones grow to gigabytes): write the values out instead"
    )
    assert time.process_time() - start < 2
