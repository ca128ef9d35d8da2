"""Issue 20, the review of hardening round 3: each fault a reviewer found ends in one line, not a traceback or a
misleading message, and the default pipeline's outputs do not change."""

from __future__ import annotations

import copy
import errno
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from penguins import predict, sources
from penguins.errors import PipelineError
from penguins.evaluation import actual_labels, prediction_table, score
from penguins.io import file_md5, parse_csv
from penguins.params import parse_params
from penguins.yamlio import read_yaml
from tests.conftest import ROOT
from tests.unit.test_hardening_round3 import message_of

RAW = read_yaml(ROOT / "params.yaml")


def with_classes(classes: list[Any]) -> dict[str, Any]:
    raw = copy.deepcopy(RAW)
    raw["data"]["classes"] = classes
    return raw


# ---- 1 and 8. data.classes: one kind of label; a float named as such -----------------------------------


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        (
            [1, "x"],
            "params.yaml: data.classes mixes integers and text (1, 'x'); labels are all text, all integers or all "
            "booleans: quote every one (e.g. '1', 'x') to match them as text",
        ),
        (
            [0, 1, True],  # 1 == True: encode said "Categorical categories must be unique"
            "params.yaml: data.classes mixes booleans and integers (0, 1, True); labels are all text, all integers "
            "or all booleans: quote every one (e.g. '1', 'x') to match them as text",
        ),
        (
            [1.0, 2.0],
            "params.yaml: data.classes[0] is 1.0, a decimal number; labels are text, integers or booleans: write 1 "
            "if the data codes classes as integers, or quote it ('1.0') as the data file writes it",
        ),
        (
            ["a", 2.5],
            "params.yaml: data.classes[1] is 2.5, a decimal number; labels are text, integers or booleans: "
            "quote it ('2.5') as the data file writes it",
        ),
    ],
)
def test_classes_of_one_kind_only(classes: list[Any], message: str) -> None:
    assert message_of(parse_params, with_classes(classes)) == message


@pytest.mark.parametrize("classes", [["Adelie", "Gentoo"], [1, 2, 3], [True, False], ["1", "NA"]])
def test_classes_of_one_kind_are_accepted(classes: list[Any]) -> None:
    assert list(parse_params(with_classes(classes)).data.classes) == classes


def test_evaluate_keeps_labels_as_they_are() -> None:
    """np.asarray([1, 'x']) is text: score() then failed with a ValueError ('1' is not in list)."""
    classes = [1, "x"]
    onehot = np.array([[1, 0], [0, 1], [1, 0]])
    actual = actual_labels(onehot, classes)
    assert actual.tolist() == [1, "x", 1]
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    assert score(actual, probabilities, classes)["per_class"]["1"]["support"] == 2
    table = prediction_table(pd.DataFrame({"f": [1.0, 2.0, 3.0]}), probabilities, classes)
    assert table["predicted"].tolist() == [1, "x", "x"]


# ---- 2. a full disk while downloading fetch.url -------------------------------------------------------


class FullDisk(io.RawIOBase):
    name = "/nowhere/.raw.csv.tmp"

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_downloading_is_not_a_network_problem(tmp_path: Path) -> None:
    source = tmp_path / "penguins.csv"
    source.write_text("species\nAdelie\n")
    target = tmp_path / "raw.csv"
    message = message_of(sources.download, source.as_uri(), 5, FullDisk(), target=target)
    assert message.startswith(f"{target}: disk full while writing it (")
    assert message.endswith(f" in {tmp_path}); nothing was replaced: free some space and re-run the stage")


# ---- 3. empty header names (trailing commas) are not duplicates ----------------------------------------


def test_trailing_empty_header_names_are_not_repeated_columns() -> None:
    frame = parse_csv(io.StringIO("a,b,,\n1,2,,\n"), "new.csv")
    assert list(frame.columns) == ["a", "b", "Unnamed: 2", "Unnamed: 3"]
    assert message_of(parse_csv, io.StringIO("a,b,a,\n1,2,3,\n"), "new.csv") == (
        "new.csv: column 'a' appears twice in the header (columns 1 and 3); keep one"
    )


# ---- 6. Latin-1 bytes on stdin -----------------------------------------------------------------------------


@pytest.mark.parametrize("errors", ["surrogateescape", "strict"])
def test_latin1_on_stdin_is_one_line(errors: str) -> None:
    """sys.stdin decodes bad bytes as surrogates (surrogateescape): pandas failed with UnicodeEncodeError."""
    stdin = io.TextIOWrapper(
        io.BytesIO("bill_length_mm,island\n39.1,Bj\xf8rn\n".encode("latin-1")), encoding="utf-8", errors=errors
    )
    with pytest.raises(PipelineError) as err:
        predict.read_input("-", stdin)
    assert str(err.value) == (
        "stdin: not UTF-8 text (byte 0xf8 at offset 29, e.g. Latin-1 or Windows-1252); pipe it through iconv, "
        "e.g. `iconv -f latin1 -t utf-8 FILE | penguins-predict --csv -`"
    )


# ---- 7. integer class labels: the pairplot's hue is categorical --------------------------------------------


def test_integer_labels_get_one_colour_per_class() -> None:
    """seaborn draws a numeric hue on a continuous colour scale: integer codes 1, 2, 3 must be drawn as the
    same three category colours as the labels '1', '2', '3'."""
    import matplotlib.pyplot as plt

    from penguins.plotting import pairplot, theme

    rng = np.random.default_rng(0)
    measured = pd.DataFrame({"bill_length_mm": rng.normal(40, 5, 30), "body_mass_g": rng.normal(4000, 300, 30)})

    def colours(labels: list[Any]) -> list[tuple[float, ...]]:
        frame = measured.assign(species=pd.Series(labels * 10, dtype=object))
        with theme():
            figure = pairplot(frame, ["bill_length_mm", "body_mass_g"], "species", labels)
        scatter = figure.axes[1].collections[0]  # an off-diagonal panel: one point per row
        drawn = [tuple(np.round(c, 6)) for c in scatter.get_facecolors()]
        plt.close(figure)
        return drawn

    assert colours([1, 2, 3]) == colours(["1", "2", "3"])


# ---- 9. one md5 of a file ----------------------------------------------------------------------------------


def test_one_file_md5(tmp_path: Path) -> None:
    import hashlib

    from penguins import card
    from tools.repo import pipeline

    path = tmp_path / "f"
    path.write_bytes(b"x" * 3_000_000)
    assert file_md5(path) == hashlib.md5(path.read_bytes()).hexdigest()
    assert not hasattr(pipeline, "md5_of")
    assert card.file_md5 is file_md5
