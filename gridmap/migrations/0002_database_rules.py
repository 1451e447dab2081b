"""Rules the database enforces itself, so that bulk loads (COPY, raw SQL) cannot bypass them.

1. Area hierarchy: a parent is exactly one level up and its code prefixes the child's code.
   (A CHECK constraint cannot look at another row; a trigger can.)
2. School catchments: School.catchment = ST_Union of the village groups assigned to the school,
   refreshed by statement-level triggers (one union per affected school per statement, not per
   row) whenever assignments or group boundaries change.
"""

from django.db import migrations

AREA_HIERARCHY = r"""
CREATE FUNCTION gridmap_area_check_hierarchy() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent_level text;
    parent_code text;
    expected text := CASE NEW.level WHEN 'township' THEN 'county' WHEN 'village' THEN 'township'
                                    WHEN 'group' THEN 'village' END;
BEGIN
    IF NEW.parent_id IS NOT NULL THEN
        SELECT level, code INTO parent_level, parent_code FROM gridmap_area WHERE id = NEW.parent_id;
        IF parent_level IS DISTINCT FROM expected THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'area_parent_level',
                MESSAGE = format('area %s: a %s cannot lie in a %s', NEW.code, NEW.level, parent_level);
        END IF;
        IF left(NEW.code, length(parent_code)) <> parent_code THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'area_code_prefix',
                MESSAGE = format('area %s: code must begin with its parent''s code %s', NEW.code, parent_code);
        END IF;
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.level <> OLD.level OR NEW.code <> OLD.code) AND EXISTS (
        SELECT 1 FROM gridmap_area c WHERE c.parent_id = NEW.id
    ) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'area_parent_level',
            MESSAGE = format('area %s has sub-areas: its level and code cannot change', OLD.code);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER gridmap_area_hierarchy BEFORE INSERT OR UPDATE OF parent_id, level, code
    ON gridmap_area FOR EACH ROW EXECUTE FUNCTION gridmap_area_check_hierarchy();
"""

CATCHMENTS = r"""
CREATE FUNCTION gridmap_refresh_catchments(school_ids bigint[]) RETURNS void LANGUAGE sql AS $$
    UPDATE gridmap_school s
       SET catchment = (
           SELECT ST_Multi(ST_CollectionExtract(ST_Union(a.geom), 3))
             FROM gridmap_catchmentassignment ca JOIN gridmap_area a ON a.id = ca.area_id
            WHERE ca.school_id = s.id)
     WHERE s.id = ANY(school_ids);
$$;

CREATE FUNCTION gridmap_catchment_assignment_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM gridmap_refresh_catchments(ARRAY(SELECT DISTINCT school_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM gridmap_refresh_catchments(ARRAY(SELECT DISTINCT school_id FROM old_rows));
    ELSE
        PERFORM gridmap_refresh_catchments(ARRAY(
            SELECT school_id FROM new_rows UNION SELECT school_id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER gridmap_catchment_ins AFTER INSERT ON gridmap_catchmentassignment
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION gridmap_catchment_assignment_changed();
CREATE TRIGGER gridmap_catchment_upd AFTER UPDATE ON gridmap_catchmentassignment
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION gridmap_catchment_assignment_changed();
CREATE TRIGGER gridmap_catchment_del AFTER DELETE ON gridmap_catchmentassignment
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION gridmap_catchment_assignment_changed();

CREATE FUNCTION gridmap_group_geom_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM gridmap_refresh_catchments(ARRAY(
        SELECT DISTINCT ca.school_id FROM gridmap_catchmentassignment ca
          JOIN new_rows n ON n.id = ca.area_id
          JOIN old_rows o ON o.id = n.id
         WHERE NOT ST_Equals(n.geom, o.geom)));
    RETURN NULL;
END $$;

CREATE TRIGGER gridmap_area_geom_upd AFTER UPDATE ON gridmap_area
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION gridmap_group_geom_changed();
"""


class Migration(migrations.Migration):
    dependencies = [("gridmap", "0001_initial")]

    operations = [
        migrations.RunSQL(
            AREA_HIERARCHY,
            "DROP TRIGGER gridmap_area_hierarchy ON gridmap_area;"
            "DROP FUNCTION gridmap_area_check_hierarchy();",
        ),
        migrations.RunSQL(
            CATCHMENTS,
            "DROP TRIGGER gridmap_area_geom_upd ON gridmap_area;"
            "DROP FUNCTION gridmap_group_geom_changed();"
            "DROP TRIGGER gridmap_catchment_ins ON gridmap_catchmentassignment;"
            "DROP TRIGGER gridmap_catchment_upd ON gridmap_catchmentassignment;"
            "DROP TRIGGER gridmap_catchment_del ON gridmap_catchmentassignment;"
            "DROP FUNCTION gridmap_catchment_assignment_changed();"
            "DROP FUNCTION gridmap_refresh_catchments(bigint[]);",
        ),
    ]
