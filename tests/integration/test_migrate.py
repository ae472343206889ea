"""Migrations apply once, in order, and an applied file may never change."""
import pytest

from helpdesk.migrate import EditedMigration, migrate_schema, pending


def test_migrations_apply_once_and_refuse_an_edited_file(database_url, tmp_path):
    (tmp_path / "001_first.sql").write_text("CREATE TABLE things (id int);")
    parts = [("example", tmp_path)]
    assert migrate_schema(database_url, "migrate_test", parts) == ["migrate_test: example/001_first.sql"]
    assert migrate_schema(database_url, "migrate_test", parts) == []

    (tmp_path / "002_second.sql").write_text("ALTER TABLE things ADD COLUMN name text;")
    assert migrate_schema(database_url, "migrate_test", parts) == ["migrate_test: example/002_second.sql"]

    (tmp_path / "001_first.sql").write_text("CREATE TABLE things (id bigint);")
    with pytest.raises(EditedMigration, match="001_first.sql was edited"):
        migrate_schema(database_url, "migrate_test", parts)


def test_check_reports_the_files_not_yet_applied_and_changes_nothing(database_url, tmp_path):
    (tmp_path / "001_first.sql").write_text("CREATE TABLE things (id int);")
    parts = [("example", tmp_path)]
    assert pending(database_url, "check_test", parts) == ["check_test: example/001_first.sql"]
    assert pending(database_url, "check_test", parts) == ["check_test: example/001_first.sql"]

    migrate_schema(database_url, "check_test", parts)
    assert pending(database_url, "check_test", parts) == []

    (tmp_path / "002_second.sql").write_text("ALTER TABLE things ADD COLUMN name text;")
    assert pending(database_url, "check_test", parts) == ["check_test: example/002_second.sql"]
