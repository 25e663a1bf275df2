"""Small result tables for the notebooks: plain text in a terminal, HTML in Jupyter and the book.

No pandas needed: a table is a list of rows under named columns, with its first column as the
row label. ``Table.from_dict({"AlexNet": {...}, "ZFNet": {...}})`` makes one row per key.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Table", "claims"]


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)  # years stay 2012
    return str(value)


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    title: str = ""

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"row {row!r} must have {len(self.columns)} cells")

    @classmethod
    def from_dict(
        cls, rows: Mapping[str, Mapping[str, object]], label: str = "", title: str = ""
    ) -> Table:
        """One row per key; the columns are the union of the inner keys, in first-seen order."""
        columns: list[str] = []
        for inner in rows.values():
            columns.extend(k for k in inner if k not in columns)
        body = tuple((name, *(inner.get(c, "") for c in columns)) for name, inner in rows.items())
        return cls((label, *columns), body, title)

    def column(self, name: str) -> list[object]:
        """The cells of one column, top to bottom."""
        if name not in self.columns:
            raise ValueError(f"name must be one of the columns {self.columns}, got {name!r}")
        i = self.columns.index(name)
        return [row[i] for row in self.rows]

    def cell(self, row: str, column: str) -> object:
        """The cell in the row labelled ``row`` (first column) and column ``column``."""
        for values in self.rows:
            if values[0] == row:
                return values[self.columns.index(column)]
        raise ValueError(f"row must be one of {[r[0] for r in self.rows]}, got {row!r}")

    def __str__(self) -> str:
        cells = [list(self.columns)] + [[_format(v) for v in row] for row in self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(([self.title] if self.title else []) + lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_format(v))}</td>" for v in row) + "</tr>"
            for row in self.rows
        )
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def claims(rows: Sequence[tuple[str, str, str, bool]]) -> Table:
    """The "в лекции / измерено / вывод" table: (claim, lecture's figure, measured, holds?)."""
    body = []
    for row in rows:
        if len(row) != 4 or not isinstance(row[3], bool):
            raise ValueError(
                f"each row must be (claim, lecture, measured, holds: bool), got {row!r}"
            )
        claim, lecture, measured, holds = row
        body.append((claim, lecture, measured, "верно" if holds else "неверно / уточнено"))
    return Table(("утверждение", "в лекции", "измерено", "вывод"), tuple(body))
