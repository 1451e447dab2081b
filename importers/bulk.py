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


def reserve_ids(table: str, n: int) -> list[int]:
    """`n` fresh primary keys of `table` from its own sequence, for rows then written by COPY with
    their ids: no look-up of what was written afterwards (finding 100,000 children again by their
    ID hash took 1.9 s in a ten-million-child province)."""
    if n <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", [n])
        return [row[0] for row in cursor.fetchall()]
