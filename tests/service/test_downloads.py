"""Recommended downloads through the API (services/content): staff add one, upload its file in
pieces through the gateway and publish it; anyone reads it with its checksum, fetches it whole
or resumed (Range) and is counted once per fetch; audiences, links, and the refusals."""
import hashlib
import io
import os
import zipfile

import pytest

from helpdesk import contracts
from services.system import System

from .conftest import as_user, client

DOWNLOAD = {"title": {"es": "Asistente de configuración del router", "en": "Router setup assistant"},
            "description": {"es": "Configura el **router** en dos minutos."}, "category": "software", "release": "2.4.1"}
LIMIT = 3 * 2**20
PIECE = contracts.DOWNLOAD_PIECE_BYTES


@pytest.fixture(scope="module")
def system():
    return System(environment={"DOWNLOAD_MAX_BYTES": str(LIMIT)})


def zip_of(size):
    """A ZIP archive of about `size` bytes that does not compress (stored random bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("setup.bin", os.urandom(size))
    return buffer.getvalue()


def upload(staff, download_id, name, content):
    return staff.call("PUT", f"/api/v1/downloads/{download_id}/file?name={name}", content,
                      headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(content))})


def test_a_file_uploaded_in_pieces_is_fetched_whole_or_resumed_with_its_checksum_and_counted(system):
    staff = as_user(system, "agent-networks@helpdesk.example")
    added = staff.call("POST", "/api/v1/downloads", DOWNLOAD)
    assert added.status_code == 201, added.text
    download = added.json()
    assert download["status"] == "draft" and download["file"] is None and download["downloads"] == 0
    refused = staff.call("POST", f"/api/v1/downloads/{download['id']}/publish")
    assert refused.status_code == 422 and refused.json()["fields"]["file"]

    content = zip_of(int(2.5 * PIECE))  # three pieces, the last one short
    uploaded = upload(staff, download["id"], "router-setup.zip", content)
    assert uploaded.status_code == 200, uploaded.text
    file = uploaded.json()["file"]
    assert file == {"id": file["id"], "name": "router-setup.zip", "size": len(content), "type": "application/zip",
                    "sha256": hashlib.sha256(content).hexdigest()}
    assert staff.call("POST", f"/api/v1/downloads/{download['id']}/publish").json()["status"] == "published"

    anyone = client(system)
    listed = anyone.call("GET", "/api/v1/downloads").json()["items"]
    shown = next(item for item in listed if item["id"] == download["id"])
    assert shown["file"]["sha256"] == file["sha256"] and shown["release"] == "2.4.1" and "audience" not in shown
    assert shown["description_tree"]["es"][0]["c"][1] == {"t": "strong", "c": ["router"]}

    whole = anyone.call("GET", f"/api/v1/downloads/{download['id']}/file")
    assert whole.status_code == 200 and whole.content == content
    assert whole.headers["Content-Length"] == str(len(content)) and whole.headers["ETag"] == f'"{file["sha256"]}"'
    assert whole.headers["Content-Disposition"].startswith("attachment;")
    assert whole.headers["X-Content-Type-Options"] == "nosniff"

    start = PIECE - 10  # across the first two pieces, to the end
    resumed = anyone.call("GET", f"/api/v1/downloads/{download['id']}/file", headers={"Range": f"bytes={start}-"})
    assert resumed.status_code == 206 and resumed.content == content[start:]
    assert resumed.headers["Content-Range"] == f"bytes {start}-{len(content) - 1}/{len(content)}"
    middle = anyone.call("GET", f"/api/v1/downloads/{download['id']}/file", headers={"Range": "bytes=100-199"})
    assert middle.status_code == 206 and middle.content == content[100:200]
    tail = anyone.call("GET", f"/api/v1/downloads/{download['id']}/file", headers={"Range": "bytes=-5"})
    assert tail.content == content[-5:]
    beyond = anyone.call("GET", f"/api/v1/downloads/{download['id']}/file", headers={"Range": f"bytes={len(content)}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(content)}"
    stale = anyone.call("GET", f"/api/v1/downloads/{download['id']}/file",
                        headers={"Range": f"bytes={start}-", "If-Range": '"another file"'})
    assert stale.status_code == 200 and stale.content == content  # a part of another file: the whole of this one

    counted = anyone.call("GET", f"/api/v1/downloads/{download['id']}").json()["downloads"]
    assert counted == 2  # the whole one and the one whose If-Range failed; resumed parts are not new fetches

    newer = zip_of(1000)
    replaced = upload(staff, download["id"], "router-setup.zip", newer).json()["file"]
    assert replaced["sha256"] == hashlib.sha256(newer).hexdigest() and replaced["id"] != file["id"]
    assert anyone.call("GET", f"/api/v1/downloads/{download['id']}/file").content == newer
    files = system.content.uow.repositories["files"]
    assert files.file(file["id"]) is None and files.piece(file["id"], 0) is None  # the old file's bytes are gone


def test_a_link_redirects_and_counts_and_a_draft_or_an_audience_is_not_shown_to_others(system):
    staff = as_user(system, "supervisor@helpdesk.example")
    link = dict(DOWNLOAD, link="https://downloads.izarlink.example/tool-2.4.1.exe", sha256="AB" * 32)
    download = staff.call("POST", "/api/v1/downloads", link).json()
    assert download["sha256"] == "ab" * 32  # kept as checksums are written
    anyone = client(system)
    assert anyone.call("GET", f"/api/v1/downloads/{download['id']}").status_code == 404  # a draft
    assert anyone.call("GET", f"/api/v1/downloads/{download['id']}/file").status_code == 404
    staff.call("POST", f"/api/v1/downloads/{download['id']}/publish")
    fetched = anyone.call("GET", f"/api/v1/downloads/{download['id']}/file")
    assert fetched.status_code == 302 and fetched.headers["Location"] == link["link"]
    assert anyone.call("GET", f"/api/v1/downloads/{download['id']}").json()["downloads"] == 1

    for_fibre_customers = staff.call("POST", "/api/v1/downloads", dict(link, audience=["internet_access"])).json()
    staff.call("POST", f"/api/v1/downloads/{for_fibre_customers['id']}/publish")
    assert for_fibre_customers["audience"] == ["internet_access"]
    public = [item["id"] for item in anyone.call("GET", "/api/v1/downloads").json()["items"]]
    assert download["id"] in public and for_fibre_customers["id"] not in public
    assert anyone.call("GET", f"/api/v1/downloads/{for_fibre_customers['id']}/file").status_code == 404
    customer = as_user(system, "cliente@demo.example")  # uses no service yet
    assert customer.call("GET", f"/api/v1/downloads/{for_fibre_customers['id']}").status_code == 404
    assert for_fibre_customers["id"] in [item["id"] for item in staff.call("GET", "/api/v1/downloads").json()["items"]]

    words = "/api/v1/search?q=asistente+router"
    assert for_fibre_customers["id"] not in [item["id"] for item in anyone.call("GET", words).json()["items"]]
    admin = as_user(system, "admin@helpdesk.example")
    customer_id = customer.call("GET", "/api/v1/me").json()["user_id"]
    assert admin.call("PATCH", f"/api/v1/admin/users/{customer_id}", {"services": ["internet_access"]}).status_code == 200
    fibre_customer = as_user(system, "cliente@demo.example")
    assert fibre_customer.call("GET", f"/api/v1/downloads/{for_fibre_customers['id']}").status_code == 200
    found = [item for item in fibre_customer.call("GET", words).json()["items"] if item["kind"] == "download"]
    assert for_fibre_customers["id"] in [item["id"] for item in found]
    assert found[0]["path"].startswith("/downloads#download-")
    admin.call("PATCH", f"/api/v1/admin/users/{customer_id}", {"services": []})

    archived = staff.call("POST", f"/api/v1/downloads/{download['id']}/archive").json()
    assert archived["status"] == "archived"
    assert anyone.call("GET", f"/api/v1/downloads/{download['id']}/file").status_code == 404
    assert upload(staff, download["id"], "tool.zip", zip_of(10)).status_code == 409


@pytest.mark.parametrize("name, content, field, code", [
    ("tool.pdf", zip_of(100), "file", "download_name_mismatch"),
    ("notes.html", b"<html><script>alert(1)</script></html>", "file", "attachment_active_content"),
    ("readme.txt", b"  <svg onload=alert(1)>", "file", "attachment_active_content"),
    ("empty.bin", b"", "file", "download_empty"),
    ("\u202e", b"data", "file", "filename_missing"),
])
def test_a_file_refused_by_its_content_or_name_is_not_kept(system, name, content, field, code):
    staff = as_user(system, "agent-networks@helpdesk.example")
    download = staff.call("POST", "/api/v1/downloads", DOWNLOAD).json()
    refused = upload(staff, download["id"], name, content)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field_codes"][field] == [code]
    assert staff.call("GET", f"/api/v1/downloads/{download['id']}").json()["file"] is None
    files = system.content.uow.repositories["files"]
    assert files.files_of(download["id"]) == []  # nothing of it kept


def test_a_file_over_the_limit_is_refused_before_a_byte_is_read(system):
    staff = as_user(system, "agent-networks@helpdesk.example")
    download = staff.call("POST", "/api/v1/downloads", DOWNLOAD).json()
    refused = upload(staff, download["id"], "big.zip", zip_of(LIMIT))
    assert refused.status_code == 413 and refused.json()["error"] == "payload_too_large"
    assert "3 MB" in refused.json()["message"]


def test_text_and_opaque_files_are_kept_with_their_type(system):
    staff = as_user(system, "agent-networks@helpdesk.example")
    download = staff.call("POST", "/api/v1/downloads", dict(DOWNLOAD, category="configuration")).json()
    text = upload(staff, download["id"], "router.conf", "ssid=Izarlink\nclave=ñandú\n".encode()).json()["file"]
    assert text["type"] == "text/plain; charset=utf-8"
    firmware = upload(staff, download["id"], "firmware-3.1.img", os.urandom(5000)).json()["file"]
    assert firmware["type"] == "application/octet-stream"


@pytest.mark.parametrize("command, field, code", [
    (dict(DOWNLOAD, category="games"), "category", None),
    (dict(DOWNLOAD, link="javascript:alert(1)"), "link", "link_http_address"),
    (dict(DOWNLOAD, link="https://user@evil.example/x"), "link", "link_http_address"),
    (dict(DOWNLOAD, link="https://ok.example/x", sha256="12"), "sha256", "sha256_hex"),
    (dict(DOWNLOAD, sha256="ab" * 32), "sha256", "sha256_only_for_links"),
    (dict(DOWNLOAD, audience=["teleport"]), "audience", "unknown_services"),
    (dict(DOWNLOAD, title={"es": ""}), "title", "write_in_one_language"),
])
def test_bad_downloads_are_refused_naming_the_field(system, command, field, code):
    refused = as_user(system, "agent-networks@helpdesk.example").call("POST", "/api/v1/downloads", command)
    assert refused.status_code == 422, refused.text
    assert field in refused.json()["fields"]
    if code:
        assert refused.json()["field_codes"][field] == [code]


def test_only_staff_write_downloads(system):
    customer = as_user(system, "cliente@demo.example")
    assert customer.call("POST", "/api/v1/downloads", DOWNLOAD).status_code == 403
    staff = as_user(system, "agent-networks@helpdesk.example")
    download = staff.call("POST", "/api/v1/downloads", DOWNLOAD).json()
    assert upload(customer, download["id"], "a.zip", zip_of(10)).status_code == 403
    assert customer.call("GET", "/api/v1/downloads?status=draft").status_code == 403
    assert client(system).call("PUT", f"/api/v1/downloads/{download['id']}/file?name=a.zip", b"x").status_code == 401
