"""The month-end triggers' queries over the changed rows planned at each firing (EXECUTE).

PL/pgSQL keeps a static query's plan for the life of the connection: after a bulk write (a COPY of a
county's status histories) the kept plan joins the changed rows to the children table by reading
all of it, and every later single status change on that connection paid for that (0.2 s at 2
million children, ~1 s at 10 million). layers/migrations/0003 does the same for the layers' triggers.
"""

from django.db import migrations


def _function(name: str, dynamic: bool) -> str:
    def query(rows: str, alias: str) -> str:
        sql = (f"SELECT coalesce(jsonb_agg(jsonb_build_object('group_id', c.group_id, "
               f"'since', date_trunc('month', {alias}.date)::date)), '[]') "
               f"FROM {rows} {alias} JOIN gridmap_child c ON c.id = {alias}.child_id")
        if dynamic:
            return f"EXECUTE $q${sql}$q$ INTO marks;\n        PERFORM gridmap_month_end_mark(marks);"
        return f"PERFORM gridmap_month_end_mark(({sql}));"

    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE marks jsonb;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {query("new_rows", "n")}
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        {query("old_rows", "o")}
    END IF;
    RETURN NULL;
END $$;
"""


# gridmap_history_changed: status histories (0011); gridmap_child_record_changed: aid records and
# transfers (0014). Same body: each row names a child, whose village is marked from the row's month.
NAMES = ["gridmap_history_changed", "gridmap_child_record_changed"]
FORWARD = "".join(_function(name, dynamic=True) for name in NAMES)
BACKWARD = "".join(_function(name, dynamic=False) for name in NAMES)


class Migration(migrations.Migration):

    dependencies = [
        ("gridmap", "0017_drop_child_id_hash_like"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
