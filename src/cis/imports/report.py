"""What an import found: rows rejected (line, field, reason) and what it changed, by kind."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cis.core.errors import ValidationFailed

# Told (rows done, rows in all) as an import goes, for a progress bar.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Rejection:
    line: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "reason": self.reason}

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.reason}"


@dataclass
class Outcome:
    """The result of one file: applied (all, or with --partial the good rows) or rejected."""

    kind: str
    layout: str
    rows: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    rejected: list[Rejection] = field(default_factory=list)
    applied: bool = False
    partial: bool = False
    events: int = 0

    @property
    def changed(self) -> int:
        return sum(v for k, v in self.counts.items() if k not in ("unchanged", "skipped"))

    def reject(self, line: int, field_name: str, reason: str) -> None:
        self.rejected.append(Rejection(line, field_name, reason))

    def summary(self) -> str:
        done = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items()) if v) or "no changes"
        if not self.applied:
            return (
                f"Rejected: {len(self.rejected)} of {self.rows} row(s) have errors, so nothing "
                "was changed (fix them, or import the good rows with --partial)."
            )
        skipped = f"; {len(self.rejected)} row(s) rejected and left out" if self.rejected else ""
        return f"Imported {self.rows} row(s): {done}{skipped}."

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "layout": self.layout,
            "rows": self.rows,
            "applied": self.applied,
            "partial": self.partial,
            "counts": dict(sorted(self.counts.items())),
            "rejected": [r.as_dict() for r in self.rejected],
            "summary": self.summary(),
        }


def read_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank CSV row; a line number counts physical lines."""
    reader = csv.reader(io.StringIO(text))
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                yield reader.line_num, [c.strip() for c in cells]
    except csv.Error as exc:
        raise ValidationFailed(
            f"Line {reader.line_num} is not valid CSV: {exc}.", field="file"
        ) from None


def decode(data: bytes) -> str:
    """A file's text: UTF-8 (with or without a byte-order mark), else Windows-1252 as ODS uses."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
