"""Drop the pattern-ops index Django adds beside a unique varchar: the ID hash is only ever looked up
whole (the unique index serves that). In a ten-million-child province it was 1.2 GB, and every
county written or children imported paid for a random insertion into it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("gridmap", "0016_home_teaching_place")]

    operations = [
        migrations.RunSQL(
            "DROP INDEX IF EXISTS gridmap_child_id_hash_b4649f5c_like",
            "CREATE INDEX IF NOT EXISTS gridmap_child_id_hash_b4649f5c_like ON gridmap_child (id_hash varchar_pattern_ops)",
        ),
    ]
