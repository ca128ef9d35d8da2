"""The report's page: the answer first (each revision's correct count, recall per class, confusion matrix), then
tools/templates/report.html.j2 rendered, autoescaped, with the plots and the metrics and params tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from penguins.plotting import HEATMAP_MAX_CLASSES, heatmap_classes
from tools.report.pictures import CONFUSION_PLOT, Plot

EMPTY = "\u2013"  # an en dash in a table cell that has no value
TITLE = "Penguins classification: pipeline report"
# Nothing may be fetched: images only from data: URIs, styles only inline, no scripts, no fonts, no frames.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
WIDE_PX = 700  # plots whose pictures are wider than this together get a whole row of the grid
Values = dict[str, dict[str, dict[str, Any]]]  # file -> revision -> flattened key -> value
# The page is bounded in classes as the figures stage's heatmap is (1,000 classes made 19 MB of HTML in 7.4 s per
# revision): each confusion matrix and recall list shows the HEATMAP_MAX_CLASSES classes heatmap_classes picks (the
# most test rows), the metrics tables as many classes' per_class rows.
MAX_CLASSES = HEATMAP_MAX_CLASSES
PER_CLASS = "per_class."  # metrics/metrics.json's per-class keys, flattened: per_class.<class>.<metric>


# --------------------------------------------------------------------------------------------
# The answer first: accuracy, per-class recall and the confusion matrix of each revision
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    rev: str
    correct: int
    total: int
    classes: tuple[str, ...]  # the classes shown: all, or the MAX_CLASSES with the most test rows
    matrix: tuple[tuple[int, ...], ...]  # rows: actual, columns: predicted, in ``classes`` order
    support: tuple[int, ...] = ()  # test rows of each of ``classes`` (all its row, also outside ``classes``)
    of_classes: int = 0  # the revision's number of classes, when ``classes`` shows only some

    def recall(self) -> list[tuple[str, int, int]]:
        """(class, correctly predicted, test penguins of that class) per class shown."""
        support = self.support or tuple(map(sum, self.matrix))
        return [(c, self.matrix[i][i], support[i]) for i, c in enumerate(self.classes)]

    def part(self) -> str:
        """What the caption says when only some classes are shown, else ''."""
        if self.of_classes <= len(self.classes):
            return ""
        return f"{len(self.classes)} of the {self.of_classes} classes, those with the most test rows"


def headlines(shown: Mapping[str, Sequence[Mapping[str, Any]]], revs: Sequence[str]) -> list[Headline]:
    """Each revision's confusion counts from dvc's plot data (rows actual, predicted[, count]: a row without
    a count is one penguin, as in older revisions); revisions without the plot are left out. Above MAX_CLASSES
    classes, each shows those heatmap_classes picks (the figures stage's choice); its counts are of all."""
    counts: dict[str, dict[tuple[str, str], int]] = {}
    for entry in shown.get(CONFUSION_PLOT, []):
        for row in (entry.get("content") or {}).get("data", {}).get("values", []):
            cell = (str(row.get("actual")), str(row.get("predicted")))
            n = int(float(row["count"])) if str(row.get("count", "")).strip() else 1
            per_rev = counts.setdefault(str(row.get("rev")), {})
            per_rev[cell] = per_rev.get(cell, 0) + n
    found = []
    for rev in revs:
        if not (cells := counts.get(rev)):
            continue
        classes = sorted({c for cell in cells for c in cell})
        table = pd.Series(cells).unstack(fill_value=0).reindex(index=classes, columns=classes, fill_value=0)
        full = table.to_numpy()
        drawn = heatmap_classes(table, MAX_CLASSES)
        support = dict(zip(classes, full.sum(axis=1).tolist(), strict=True))
        found.append(
            Headline(
                rev,
                int(full.trace()),
                int(full.sum()),
                tuple(drawn.index),
                tuple(map(tuple, drawn.to_numpy().tolist())),
                tuple(support[c] for c in drawn.index),
                len(classes),
            )
        )
    return found


def class_bound_note(results: Sequence[Headline], metrics: Values) -> str | None:
    """The one line the report prints when its page leaves classes out, else None."""
    most = max([r.of_classes for r in results] + [len(per_class_names(m)) for m in metrics.values()], default=0)
    if most <= MAX_CLASSES:
        return None
    return (
        f"the page shows {MAX_CLASSES} of the {most} classes (those with the most test rows) in each confusion "
        "matrix, recall list and per_class metrics table; plots/confusion.csv and metrics/metrics.json have them all"
    )


# --------------------------------------------------------------------------------------------
# HTML: tools/templates/report.html.j2, autoescaped
# --------------------------------------------------------------------------------------------

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"  # tools/templates


def format_value(value: Any) -> str:
    """A metric or param as table text: floats to 5 significant digits, lists comma-separated."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.5g}"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


@dataclass(frozen=True)
class Row:
    key: str
    cells: tuple[str, ...]
    changed: bool  # differs between revisions
    numeric: bool  # right-aligned


@dataclass(frozen=True)
class Table:
    path: str
    rows: tuple[Row, ...]
    note: str = ""  # said in the caption: the per_class rows left out


def per_class_name(key: str) -> str | None:
    """'per_class.Adelie.f1' -> 'Adelie' (a class name may hold dots; the metric's never does), else None."""
    name, dot, _ = key.removeprefix(PER_CLASS).rpartition(".")
    return name if key.startswith(PER_CLASS) and dot else None


def per_class_names(per_rev: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return list(dict.fromkeys(n for values in per_rev.values() for k in values if (n := per_class_name(k))))


def kept_classes(per_rev: Mapping[str, Mapping[str, Any]], first: Sequence[str] = ()) -> set[str] | None:
    """The MAX_CLASSES classes whose per_class rows are shown: ``first`` (the classes of the first confusion
    matrix), then the most test rows (support); None when there are no more."""
    names = per_class_names(per_rev)
    if len(names) <= MAX_CLASSES:
        return None

    def support(name: str) -> float:
        values = [v.get(f"{PER_CLASS}{name}.support") for v in per_rev.values()]
        return sum(v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool))

    ranked = sorted(names, key=lambda n: (n not in set(first), -support(n)))  # stable: ties in file order
    return set(ranked[:MAX_CLASSES])


def values_table(
    path: str, per_rev: Mapping[str, Mapping[str, Any]], revs: Sequence[str], first_classes: Sequence[str] = ()
) -> Table:
    """One file's metrics or params: a row per key, a column per revision; differing rows marked. Per-class rows
    of at most MAX_CLASSES classes (kept_classes), said in the caption."""
    keys = list(dict.fromkeys(key for rev in revs for key in per_rev.get(rev, {})))
    note = ""
    if (kept := kept_classes(per_rev, first_classes)) is not None:
        keys = [key for key in keys if (name := per_class_name(key)) is None or name in kept]
        note = f"per_class: {MAX_CLASSES} of the {len(per_class_names(per_rev))} classes, those with the most test rows"
    rows = []
    for key in keys:
        cells = tuple(format_value(per_rev[rev][key]) if key in per_rev.get(rev, {}) else EMPTY for rev in revs)
        numbers = [per_rev.get(rev, {}).get(key) for rev in revs]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers)
        rows.append(Row(key, cells, len(set(cells)) > 1, numeric))
    return Table(path, tuple(rows), note)


def report_html(
    revs: Sequence[str],
    plots: Sequence[Plot],
    metrics: Values,
    params: Values,
    problems: Sequence[str],
    results: Sequence[Headline] = (),
    not_repeated: Mapping[str, str] | None = None,
) -> str:
    """The whole page: the answer (results), problems (if any), plots, metrics, params. No external reference."""
    import jinja2

    first = results[0].classes if results else ()

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(
        title=TITLE,
        csp=CSP,
        revs=list(revs),
        results=list(results),
        problems=list(problems),
        plots=[(plot, sum(p.width for p in plot.pictures) > WIDE_PX) for plot in plots],
        not_repeated=dict(not_repeated or {}),
        metrics=[values_table(path, per_rev, revs, first) for path, per_rev in metrics.items()],
        params=[values_table(path, per_rev, revs) for path, per_rev in params.items()],
    )
