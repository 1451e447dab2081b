"""Change tokens for two more tables, now that the grid page's map and the cell cards are kept
between requests (layers.served.part_key): a household's number and address are on the card, and a
transfer's state draws the 流转未到 markers of the map. Both count as "children" (child-level data);
a transfer touches the county of the child and the county of the receiving school."""

from importlib import import_module

from django.db import migrations

_initial = import_module("layers.migrations.0001_data_changes")

TABLES = {
    "gridmap_household": ("children", "SELECT left(a.code, 6) FROM {rows} r JOIN gridmap_area a ON a.id = r.group_id"),
    "gridmap_transfer": ("children", """
        SELECT left(a.code, 6) FROM {rows} r JOIN gridmap_child c ON c.id = r.child_id
        JOIN gridmap_area a ON a.id = c.group_id
        UNION SELECT left(ta.code, 6) FROM {rows} r JOIN gridmap_school s ON s.id = r.to_school_id
        JOIN gridmap_area ta ON ta.id = s.township_id"""),
}

FORWARD = "".join(_initial._function(table, source, sql) for table, (source, sql) in TABLES.items())
BACKWARD = "".join(_initial._drop(table) for table in TABLES)


class Migration(migrations.Migration):

    dependencies = [
        ("layers", "0001_data_changes"),
        ("gridmap", "0016_home_teaching_place"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
