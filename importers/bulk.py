"""COPY into a table inside Django's current transaction: ~15x faster than bulk_create (STACK.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Table and column names come from the code (model meta), never from user input."""
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor, inside Django's transaction
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
