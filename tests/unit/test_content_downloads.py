"""The pure parts of recommended downloads: a file judged by its first piece and its name, the
pieces it is cut in, links and checksums refused, and the Range header read as RFC 9110 says."""
import datetime as dt
import io
import zipfile

import pytest

from helpdesk.files import FileRefused
from helpdesk.refusals import IllegalTransition, RuleBroken
from services.content import domain, downloads
from services.gateway.http import byte_range

STAFF = {"user_id": "u1", "name": "Agente", "role": "agent"}
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.timezone.utc)


class Catalog:
    services = {"internet_access": None, "hosting": None}


def zipped():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "hola")
    return buffer.getvalue()


@pytest.mark.parametrize("name, start, complete, expected", [
    ("tool.zip", zipped(), True, "application/zip"),
    ("app.apk", zipped(), True, "application/zip"),  # an Android package is a ZIP
    ("manual.pdf", b"%PDF-1.7\n...", True, "application/pdf"),
    ("router.conf", "clave=ñandú\n".encode(), True, downloads.TEXT_TYPE),
    ("firmware.img", bytes(range(256)) * 4, True, downloads.OPAQUE_TYPE),
    ("notes.txt", "año".encode()[:2], False, downloads.TEXT_TYPE),  # a character cut by the piece's end
])
def test_a_file_is_typed_by_its_content(name, start, complete, expected):
    assert downloads.content_type(name, start, complete) == expected


@pytest.mark.parametrize("name, start, code", [
    ("manual.pdf", zipped(), "download_name_mismatch"),
    ("tool", zipped(), "download_name_mismatch"),
    ("page.html", b"<!doctype html><p>hi", "attachment_active_content"),
    ("image.png", b"\n  <script>alert(1)</script>", "attachment_active_content"),
    ("data.xml", b"<?xml version='1.0'?><a/>", "attachment_active_content"),
    ("script.js", b"alert(1)", "attachment_active_content"),
])
def test_a_file_is_refused_when_its_name_lies_or_a_browser_could_run_it(name, start, code):
    with pytest.raises(FileRefused) as refused:
        downloads.content_type(name, start, True)
    assert refused.value.code == code


def test_a_cut_character_at_the_end_of_the_whole_file_is_not_text():
    assert downloads.content_type("notes.txt", "año".encode()[:2], True) == downloads.OPAQUE_TYPE


def test_a_file_is_cut_in_pieces_and_judged_before_a_byte_arrives():
    size = downloads.PIECE_BYTES
    assert [downloads.pieces(n) for n in (1, size, size + 1, 3 * size)] == [1, 1, 2, 3]
    assert downloads.check_start("C:\\temp\\tool.zip", 10, 100) == "tool.zip"
    with pytest.raises(FileRefused) as too_large:
        downloads.check_start("tool.zip", 101, 100)
    assert too_large.value.code == "download_too_large"
    with pytest.raises(FileRefused):
        downloads.check_start("tool.zip", 0, 100)


def test_the_digest_of_the_pieces_is_the_digest_of_the_file():
    import hashlib
    digest = downloads.Digest()
    for piece in (b"abc", b"def", b"g"):
        digest.add(piece)
    assert (digest.size, digest.hexdigest()) == (7, hashlib.sha256(b"abcdefg").hexdigest())


def added(**command):
    base = {"title": {"es": "Herramienta"}, "category": "software"}
    [event] = domain.add_download("d1", STAFF, NOW, {**base, **command}, Catalog())
    return event


@pytest.mark.parametrize("link", ["javascript:alert(1)", "ftp://x.example/a", "https://", "https://a b.example/",
                                  "https://user:pw@x.example/", "https://x.example/\nSet-Cookie: a"])
def test_links_are_whole_http_addresses(link):
    with pytest.raises(RuleBroken) as refused:
        added(link=link)
    assert refused.value.field == "link"


def test_a_link_keeps_its_checksum_and_a_file_replaces_both():
    class Recorded:
        def __init__(self, event, position):
            self.type, self.data, self.stream_position = event.type, event.data, position
    event = added(link="https://x.example/tool.exe", sha256=" " + "AB" * 32)
    state = domain.evolve(None, Recorded(event, 0))
    assert state["link"] == "https://x.example/tool.exe" and state["sha256"] == "ab" * 32
    with pytest.raises(RuleBroken):
        added(sha256="ab" * 32)  # no link: an uploaded file's checksum is computed
    file = {"id": "f1", "name": "tool.zip", "size": 10, "type": "application/zip", "sha256": "cd" * 32}
    [attached] = domain.attach_file(state, STAFF, NOW, file)
    state = domain.evolve(state, Recorded(attached, 1))
    assert state["file"] == file and state["link"] is None and state["sha256"] is None
    assert domain.attach_file(state, STAFF, NOW, file) == []  # the same file again: nothing new
    [published] = domain.publish_download(state, STAFF, NOW)
    state = domain.evolve(state, Recorded(published, 2))
    with pytest.raises(RuleBroken):  # a published download cannot lose both its file and its link
        domain.edit_download(dict(state, file=None, link="https://x.example/"), STAFF, NOW, {"link": None}, Catalog())
    [archived] = domain.archive_download(state, STAFF, NOW)
    state = domain.evolve(state, Recorded(archived, 3))
    with pytest.raises(IllegalTransition):
        domain.attach_file(state, STAFF, NOW, dict(file, id="f2"))


@pytest.mark.parametrize("header, expected", [
    ("bytes=0-", (0, None)), ("bytes=100-199", (100, 199)), ("bytes=-500", (None, 500)), (" bytes=5-5 ", (5, 5)),
    (None, None), ("", None), ("bytes=-", None), ("bytes=9-3", None), ("bytes=-0", None),
    ("bytes=0-1,5-9", None), ("items=0-1", None), ("bytes=1e3-", None), ("bytes=" + "9" * 19 + "-", None),
])
def test_a_single_byte_range_is_understood_and_anything_else_means_the_whole_file(header, expected):
    assert byte_range(header) == expected
