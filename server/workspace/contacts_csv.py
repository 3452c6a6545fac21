"""CSV import of contacts: name,title,company,profile_url,notes; every bad row reported, good rows kept."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

COLUMNS = ("name", "title", "company", "profile_url", "notes")
MAX_CSV_BYTES = 1024 * 1024
MAX_ROWS = 2000


class CsvError(ValueError):
    """The file as a whole cannot be imported."""


@dataclass(frozen=True)
class CsvRow:
    line: int
    values: dict[str, Any]


def parse_contacts(data: bytes) -> list[CsvRow]:
    """Rows as dicts of the known columns. A header row is optional: without one, columns are in the order
    name,title,company,profile_url,notes. Unknown header columns are ignored."""
    if len(data) > MAX_CSV_BYTES:
        raise CsvError(f"the file is larger than the {MAX_CSV_BYTES // 1024} KB limit")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CsvError("the file is not UTF-8 text") from error
    if "\x00" in text:
        raise CsvError("the file is not a CSV text file")
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise CsvError(f"the CSV could not be read: {error}") from error
    if not lines:
        raise CsvError("the file is empty")
    header = [h.strip().lower().replace(" ", "_") for h in lines[0]]
    has_header = "name" in header
    columns = header if has_header else list(COLUMNS)
    rows: list[CsvRow] = []
    for index, cells in enumerate(lines[1:] if has_header else lines, start=2 if has_header else 1):
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise CsvError(f"the file has more than {MAX_ROWS} contacts; split it")
        values: dict[str, Any] = {
            column: cell for column, cell in zip(columns, cells, strict=False) if column in COLUMNS
        }
        if len(cells) > len(columns):
            values["__extra__"] = len(cells) - len(columns)
        rows.append(CsvRow(index, values))
    return rows
