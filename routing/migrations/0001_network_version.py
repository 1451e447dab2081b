"""The network version row and the triggers that bump it (routing/models.py says why)."""

from django.db import migrations, models

TABLES = ["gridmap_road", "gridmap_roadedge", "gridmap_roadvertex"]

FORWARD = """
CREATE SEQUENCE routing_network_version_seq;
INSERT INTO routing_networkversion (id, version, changed_at) VALUES (1, nextval('routing_network_version_seq'), now());
CREATE FUNCTION routing_bump_network_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- an upsert: a flushed table (Django's test flush truncates it) gets its row back
    INSERT INTO routing_networkversion (id, version, changed_at)
    VALUES (1, nextval('routing_network_version_seq'), now())
    ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, changed_at = EXCLUDED.changed_at;
    RETURN NULL;
END $$;
""" + "".join(f"""
CREATE TRIGGER routing_network_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION routing_bump_network_version();
""" for table in TABLES)

BACKWARD = "".join(f"DROP TRIGGER IF EXISTS routing_network_changed ON {table};\n" for table in TABLES) + """
DROP FUNCTION IF EXISTS routing_bump_network_version();
DROP SEQUENCE IF EXISTS routing_network_version_seq;
"""


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("gridmap", "0003_road_network"),
    ]

    operations = [
        migrations.CreateModel(
            name="NetworkVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.BigIntegerField(verbose_name="network version")),
                ("changed_at", models.DateTimeField(verbose_name="changed at")),
            ],
            options={
                "verbose_name": "road network version",
                "verbose_name_plural": "road network versions",
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
