"""Naming conventions of the pipeline's columns: one-hot target columns and unit suffixes."""

from __future__ import annotations

from collections.abc import Sequence

UNITS = ("mm", "cm", "m", "g", "kg")


def target_columns(classes: Sequence[str], target: str) -> list[str]:
    """Names of the one-hot columns, in class order (e.g. species_Adelie)."""
    return [f"{target}_{c}" for c in classes]


def split_unit(column: str) -> tuple[str, str | None]:
    """A column name and its unit suffix, if it has a known one: 'body_mass_g' -> ('body_mass', 'g')."""
    name, _, suffix = column.rpartition("_")
    return (name, suffix) if name and suffix in UNITS else (column, None)
