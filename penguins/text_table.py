"""The one renderer of tables for people (tabulate): the aligned text and Markdown tables that penguins-predict,
the sweep, the reproducibility check and the benchmarks print."""

from __future__ import annotations

from collections.abc import Sequence

Align = Sequence[str]  # per column: "left", "right" or "center"


def render(headers: Sequence[str], rows: Sequence[Sequence[object]], *, markdown: bool = False,
           align: Align | None = None) -> str:  # fmt: skip
    """``rows`` under ``headers``, cells as given (no number parsing), columns left-aligned unless ``align`` says.

    Text: columns two spaces apart, the header aligned like its column, no rule, no trailing spaces.
    Markdown: a pipe table whose rule carries the alignment (`---:` right), as GitHub renders it."""
    from tabulate import tabulate  # imported when a table is drawn: penguins-predict --format csv never needs it

    colalign = tuple(align) if align else ("left",) * len(headers)
    cells = [[str(cell) for cell in row] for row in rows]
    if markdown:
        return tabulate(cells, list(headers), tablefmt="pipe", disable_numparse=True, colalign=colalign)
    # headers as the first row: tabulate pads a header row by two more characters than its column needs
    text = tabulate([list(headers), *cells], tablefmt="plain", disable_numparse=True, colalign=colalign)
    return "\n".join(line.rstrip() for line in text.splitlines())
