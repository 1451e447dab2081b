"""The map layers' data versions (layers/models.py): the change table and the triggers that fill it.

One statement-level trigger function per table, with transition tables: a COPY of 90,000 children
adds one row per county it touched, not one per child. What each table's rows say about their
county is below (SQL over the transition table `{rows}`); a statement whose rows name no county (the
row they point at went in the same statement) and a TRUNCATE are changes everywhere (county '').
"""

from django.db import migrations, models

AREA_OF_CHILD = "JOIN gridmap_child c ON c.id = r.child_id JOIN gridmap_area a ON a.id = c.group_id"
TABLES = {  # table: (source, SQL of the counties its rows touch)
    "gridmap_area": ("areas", "SELECT left(r.code, 6) FROM {rows} r"),
    "gridmap_school": ("schools", "SELECT left(a.code, 6) FROM {rows} r JOIN gridmap_area a ON a.id = r.township_id"),
    "gridmap_catchmentassignment": (
        "catchments", "SELECT left(a.code, 6) FROM {rows} r JOIN gridmap_area a ON a.id = r.area_id"),
    "gridmap_responsibility": ("responsibilities", """
        SELECT left(coalesce(a.code, sa.code, ka.code, ga.code), 6) FROM {rows} r
        LEFT JOIN gridmap_area a ON a.id = r.area_id
        LEFT JOIN gridmap_school s ON s.id = r.school_id LEFT JOIN gridmap_area sa ON sa.id = s.township_id
        LEFT JOIN gridmap_schoolclass k ON k.id = r.school_class_id
        LEFT JOIN gridmap_school ks ON ks.id = k.school_id LEFT JOIN gridmap_area ka ON ka.id = ks.township_id
        LEFT JOIN gridmap_child c ON c.id = r.child_id LEFT JOIN gridmap_area ga ON ga.id = c.group_id"""),
    "gridmap_child": ("children", "SELECT left(a.code, 6) FROM {rows} r JOIN gridmap_area a ON a.id = r.group_id"),
    "gridmap_childstatuschange": ("children", "SELECT left(a.code, 6) FROM {rows} r " + AREA_OF_CHILD),
    "gridmap_case": ("cases", "SELECT left(a.code, 6) FROM {rows} r JOIN gridmap_area a ON a.id = r.township_id"),
    "gridmap_casestep": ("cases", """SELECT left(a.code, 6) FROM {rows} r JOIN gridmap_case k ON k.id = r.case_id
                                      JOIN gridmap_area a ON a.id = k.township_id"""),
    "gridmap_caseschoolchange": ("cases", """SELECT left(a.code, 6) FROM {rows} r
                                             JOIN gridmap_case k ON k.id = r.case_id
                                             JOIN gridmap_area a ON a.id = k.township_id"""),
    "gridmap_hometeachingplan": ("visits", "SELECT left(a.code, 6) FROM {rows} r " + AREA_OF_CHILD),
    "gridmap_homevisit": ("visits", """SELECT left(a.code, 6) FROM {rows} r
                                       JOIN gridmap_hometeachingplan p ON p.id = r.plan_id
                                       JOIN gridmap_child c ON c.id = p.child_id JOIN gridmap_area a ON a.id = c.group_id"""),
    "gridmap_schoolclass": ("classes", """SELECT left(a.code, 6) FROM {rows} r JOIN gridmap_school s ON s.id = r.school_id
                                          JOIN gridmap_area a ON a.id = s.township_id"""),
    "gridmap_road": ("roads", "SELECT '' FROM {rows} r"),
    "gridmap_feature": ("features", "SELECT '' FROM {rows} r"),
    "gridmap_calendarday": ("calendar", "SELECT '' FROM {rows} r"),
    # names and phones of officials and teachers, shown on the grid page: any county's (a person may
    # hold posts in several places)
    "gridmap_person": ("people", "SELECT '' FROM {rows} r"),
    "gridmap_aidrecord": ("aid", "SELECT left(a.code, 6) FROM {rows} r " + AREA_OF_CHILD),  # the 应助尽助 indicator
}
SOURCES = sorted({source for source, _sql in TABLES.values()})

RECORD = """
CREATE FUNCTION layers_record_changes(src text, counties text[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO layers_datachange (county, source, token, changed_at)
    SELECT c, src, gen_random_uuid(), now() FROM unnest(counties) AS c WHERE c IS NOT NULL;
$$;
INSERT INTO layers_datachange (county, source, token, changed_at)
SELECT '', s, gen_random_uuid(), now() FROM unnest(ARRAY[%s]) AS s;
""" % ", ".join(f"'{s}'" for s in SOURCES)


def _function(table: str, source: str, sql: str) -> str:
    new, old = sql.format(rows="new_rows"), sql.format(rows="old_rows")
    return f"""
CREATE FUNCTION layers_changed_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE counties text[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        counties := ARRAY[''];
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT x.c) INTO counties FROM ({new}) AS x(c);
        IF counties IS NULL AND EXISTS (SELECT 1 FROM new_rows) THEN counties := ARRAY['']; END IF;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT x.c) INTO counties FROM ({old}) AS x(c);
        IF counties IS NULL AND EXISTS (SELECT 1 FROM old_rows) THEN counties := ARRAY['']; END IF;
    ELSE
        SELECT array_agg(DISTINCT x.c) INTO counties FROM ({new} UNION {old}) AS x(c);
        IF counties IS NULL AND EXISTS (SELECT 1 FROM new_rows) THEN counties := ARRAY['']; END IF;
    END IF;
    IF counties IS NOT NULL THEN
        PERFORM layers_record_changes('{source}', counties);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER layers_changed_ins AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION layers_changed_{table}();
CREATE TRIGGER layers_changed_upd AFTER UPDATE ON {table}
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION layers_changed_{table}();
CREATE TRIGGER layers_changed_del AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION layers_changed_{table}();
CREATE TRIGGER layers_changed_trunc AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION layers_changed_{table}();
"""


FORWARD = RECORD + "".join(_function(table, source, sql) for table, (source, sql) in TABLES.items())


def _drop(table: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS layers_changed_ins ON {table};
DROP TRIGGER IF EXISTS layers_changed_upd ON {table};
DROP TRIGGER IF EXISTS layers_changed_del ON {table};
DROP TRIGGER IF EXISTS layers_changed_trunc ON {table};
DROP FUNCTION IF EXISTS layers_changed_{table}();
"""


BACKWARD = "".join(_drop(table) for table in TABLES) + "DROP FUNCTION IF EXISTS layers_record_changes(text, text[]);"


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("gridmap", "0015_month_end_group_counts"),
    ]

    operations = [
        migrations.CreateModel(
            name="DataChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("county", models.CharField(blank=True, help_text="empty: every county (roads, rivers, the calendar, a truncated table)", max_length=6, verbose_name="county code")),
                ("source", models.CharField(choices=[("areas", "boundaries"), ("schools", "schools"), ("catchments", "catchments"), ("responsibilities", "responsibilities"), ("children", "children and their statuses"), ("cases", "cases"), ("visits", "send-teaching-home plans and visits"), ("classes", "school classes"), ("calendar", "school calendar"), ("roads", "roads"), ("features", "rivers and other features"), ("people", "responsible people"), ("aid", "aid records")], max_length=20, verbose_name="source")),
                ("token", models.UUIDField(verbose_name="version token")),
                ("changed_at", models.DateTimeField(verbose_name="changed at")),
            ],
            options={
                "verbose_name": "map data change",
                "verbose_name_plural": "map data changes",
                "indexes": [models.Index(fields=["source", "county", "-id"], name="layers_change_newest")],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
