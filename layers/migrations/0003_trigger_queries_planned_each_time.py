"""The change-recording triggers' queries planned at each firing (EXECUTE), not once per connection.

PL/pgSQL keeps the plan of a static query for the life of the connection. A connection whose first
firing was a bulk write (a county's COPY of 100,000 rows) kept a plan that reads the whole children
table with a hash join — right for 100,000 rows, and then reused for every single status change on
that connection: 0.2 s each at 2 million children, ~1 s at 10 million (and a pooled web connection
that once ran an import does the same). EXECUTE plans each query for the rows it has.
"""

import re
from importlib import import_module

from django.db import migrations

_initial = import_module("layers.migrations.0001_data_changes")
_more = import_module("layers.migrations.0002_household_and_transfer_changes")
TABLES = {**_initial.TABLES, **_more.TABLES}


def _function(table: str, source: str, sql: str) -> str:
    """0001's function with each `SELECT … INTO counties FROM (rows' counties)` run by EXECUTE."""
    return re.sub(r"SELECT array_agg\(DISTINCT x\.c\) INTO counties FROM \((.*?)\) AS x\(c\);",
                  lambda m: f"EXECUTE $q$SELECT array_agg(DISTINCT x.c) FROM ({m.group(1)}) AS x(c)$q$ INTO counties;",
                  _static(table, source, sql), flags=re.DOTALL)


def _static(table: str, source: str, sql: str) -> str:
    """The function as 0001 made it (without its triggers): for migrating back."""
    text = _initial._function(table, source, sql)
    return text[:text.index("CREATE TRIGGER")].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")


FORWARD = "".join(_function(table, source, sql) for table, (source, sql) in TABLES.items())
BACKWARD = "".join(_static(table, source, sql) for table, (source, sql) in TABLES.items())


class Migration(migrations.Migration):

    dependencies = [
        ("layers", "0002_household_and_transfer_changes"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
