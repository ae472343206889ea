"""Attachment bytes in `tickets.attachments`: what is saved comes back identical, only through
its own ticket, and the table itself refuses an oversized file."""
import hashlib
import uuid

import psycopg2.errors
import pytest

from helpdesk.migrate import migrate_all
from services.tickets.attachments import MAX_BYTES, Attachment, inspect, load, save

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(scope="module", autouse=True)
def tickets_schema(database_url):
    migrate_all(database_url, ["tickets"])


def saved(db, content=PDF, filename="factura.pdf", internal=False):
    ticket_id, attachment = uuid.uuid4(), inspect(filename, content)
    with db.transaction() as cur:
        save(cur, ticket_id, attachment, content, internal=internal)
    return ticket_id, attachment


def test_what_is_saved_loads_back_identical(db):
    content = PDF + bytes(range(256))  # every byte value survives bytea
    ticket_id, attachment = saved(db, content)
    with db.transaction() as cur:
        assert load(cur, ticket_id, attachment.attachment_id) == (attachment, False, content)
        assert load(cur, str(ticket_id), str(attachment.attachment_id)) == (attachment, False, content)


def test_an_internal_attachment_says_so(db):
    ticket_id, attachment = saved(db, b"nota interna\n", "nota.txt", internal=True)
    with db.transaction() as cur:
        assert load(cur, ticket_id, attachment.attachment_id)[1] is True


def test_an_attachment_loads_only_through_its_own_ticket(db):
    ticket_id, attachment = saved(db)
    with db.transaction() as cur:
        assert load(cur, uuid.uuid4(), attachment.attachment_id) is None
        assert load(cur, ticket_id, uuid.uuid4()) is None
        assert load(cur, ticket_id, "not-a-uuid") is None
        assert load(cur, ticket_id, attachment.attachment_id) is not None  # the transaction is intact


def test_the_table_refuses_a_file_over_the_limit(db):
    content = b"a" * (MAX_BYTES + 1)
    oversized = Attachment(uuid.uuid4(), "big.txt", "text/plain", len(content),
                           hashlib.sha256(content).hexdigest())
    with pytest.raises(psycopg2.errors.CheckViolation):
        with db.transaction() as cur:
            save(cur, uuid.uuid4(), oversized, content)


def test_save_refuses_bytes_the_attachment_does_not_describe(db):
    with pytest.raises(ValueError):
        with db.transaction() as cur:
            save(cur, uuid.uuid4(), inspect("factura.pdf", PDF), PDF + b"tampered")
