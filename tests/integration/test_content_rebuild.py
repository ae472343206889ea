"""The content service's read model on PostgreSQL: the documents its handlers write live, and the
same documents rebuilt from its log (`python -m helpdesk.projections content`, by the command
line, over the live rows or after they were dropped) are identical."""
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpdesk import catalog, testing
from helpdesk.db import Database
from helpdesk.events import utcnow
from helpdesk.eventstore import PostgresEventStore
from helpdesk.migrate import migrate_all
from helpdesk.projections import rebuild
from services.content.bootstrap import bootstrap
from services.content.repository import ContentRebuild

from ..conftest import setting

ROOT = Path(__file__).resolve().parents[2]
STAFF = {"user_id": "u-staff", "name": "Agente", "role": "agent", "email": "agent@helpdesk.example"}


@pytest.fixture(scope="module")
def database():
    admin = setting("DATABASE_URL")
    url = testing.create_database(admin, prefix="helpdesk_content")
    migrate_all(url, ["content"])
    db = Database(url, size=2)
    yield url, db
    db.close()
    testing.drop_database(admin, url)


def documents(db):
    with db.transaction() as cur:
        cur.execute("SELECT kind, id, status, pinned, shown_from, shown_until, state, version, search::text"
                    " FROM content.documents ORDER BY id")
        return cur.fetchall()


def test_the_documents_rebuilt_from_the_log_equal_the_live_ones(database):
    url, db = database
    content = bootstrap(catalog.load(), utcnow, PostgresEventStore(db, "content"), db)
    soon = (utcnow() + dt.timedelta(hours=1)).isoformat()
    for n in range(3):
        item = content.draft_announcement(STAFF, {"title": {"es": f"Anuncio {n}"}, "body": {"es": "**Texto**"}})
        if n:
            content.publish_announcement(STAFF, item["id"], {"publish_at": soon if n == 2 else None})
    edited = content.draft_announcement(STAFF, {"title": {"es": "Cambia"}, "body": {"es": "Uno"}})
    content.edit_announcement(STAFF, edited["id"], {"body": {"es": "Dos", "en": "Two"}, "pinned": True})
    content.archive_announcement(STAFF, edited["id"])
    incident = content.declare_incident(STAFF, {"title": {"es": "Corte"}, "message": {"es": "Investigando"},
                                                "components": ["fibre", "dsl"], "impact": "major_outage"})
    content.update_incident(STAFF, incident["id"], {"status": "resolved", "message": {"es": "Reparado"}})
    window = content.schedule_maintenance(STAFF, {"title": {"es": "Webmail"}, "components": ["webmail"],
                                                  "starts_at": utcnow() + dt.timedelta(hours=1),
                                                  "ends_at": utcnow() + dt.timedelta(hours=2)})
    content.cancel_maintenance(STAFF, window["id"])
    download = content.add_download(STAFF, {"title": {"es": "Manual"}, "category": "manuals",
                                            "link": "https://izarlink.example/manual.pdf"})
    upload = content.start_upload(STAFF, download["id"], "ajustes.txt", 6)
    content.upload_piece(STAFF, upload["file_id"], 0, "YWp1c3Rl")  # "ajuste"
    content.finish_upload(STAFF, download["id"], upload["file_id"])
    content.publish_download(STAFF, download["id"])
    content.open_file(None, download["id"])
    live = documents(db)
    assert len(live) == 7

    read = rebuild(PostgresEventStore(db, "content"), [ContentRebuild()])
    assert read == 15 and documents(db) == live  # over the live rows
    assert content.download(None, download["id"])["downloads"] == 1  # the tally is not the log's: left as it was

    with db.transaction() as cur:
        cur.execute("DELETE FROM content.documents")
    env = dict(os.environ, DATABASE_URL=url)
    done = subprocess.run([sys.executable, "-m", "helpdesk.projections", "content"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert documents(db) == live  # after they were dropped
