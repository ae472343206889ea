"""Attachments are accepted by what their bytes are, named for it, and never served as something
a browser would run: pure checks, real (tiny) files built here."""
import base64
import gzip
import hashlib
import io
import random
import struct
import zipfile
import zlib

import pytest

from services.gateway.http import content_disposition
from hypothesis import given
from hypothesis import strategies as st

from helpdesk import i18n
from services.tickets import attachments
from services.tickets.attachments import (ALLOWED_CONTENT_TYPES, MAX_BYTES, AttachmentRefused,
                                          AttachmentTooLarge, decode, inspect)


def png():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
MZ = (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
      + b"This program cannot be run in DOS mode")
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 40


def zip_of(*entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in entries:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize("filename, content, content_type", [
    ("captura.png", png(), "image/png"),
    ("factura.pdf", PDF, "application/pdf"),
    ("foto.JPEG", JPEG, "image/jpeg"),
    ("anim.gif", GIF, "image/gif"),
    ("logs.zip", zip_of("a.log", "b.log"), "application/zip"),
    ("logs.tar.gz", gzip.compress(b"router.log"), "application/gzip"),
    ("contrato.docx", zip_of("[Content_Types].xml"), DOCX_TYPE),  # filetype says only "zip"
    ("contrato.docx", zip_of("[Content_Types].xml", "word/document.xml"), DOCX_TYPE),
    ("notas.txt", "Configuración del router: señal débil, año 2024 ✓\n".encode(), "text/plain"),
    ("notas-bom.txt", "\ufeffhola".encode(), "text/plain"),
    ("clientes.csv", b"id,nombre\n1,Ana\n2,Luis\n", "text/csv"),
])
def test_accepted_files_get_the_type_of_their_content(filename, content, content_type):
    attachment = inspect(filename, content)
    assert (attachment.filename, attachment.content_type) == (filename, content_type)
    assert attachment.size == len(content)
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert attachment.as_event_data() == {"id": str(attachment.attachment_id), "name": filename,
                                          "size": len(content), "type": content_type,
                                          "sha256": attachment.sha256}


def test_each_inspection_gives_a_new_id():
    assert inspect("a.pdf", PDF).attachment_id != inspect("a.pdf", PDF).attachment_id


@pytest.mark.parametrize("filename, content, code, params", [
    ("setup.exe", MZ, "attachment_type_not_accepted", {"type": "application/x-msdownload"}),
    ("setup.txt", MZ, "attachment_type_not_accepted", {"type": "application/x-msdownload"}),
    ("daemon", ELF, "attachment_type_not_accepted", {"type": "application/x-executable"}),
    ("notas.txt", b"<!DOCTYPE html><script>alert(1)</script>", "attachment_active_content", {}),
    ("notas.txt", b"\n\n   <HTML><body onload=alert(1)>", "attachment_active_content", {}),
    ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "attachment_active_content", {}),
    ("logo.txt", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "attachment_active_content", {}),
    ("pagina.html", b"just words", "attachment_active_content", {}),
    ("app.js", b"alert(1)", "attachment_active_content", {}),
    ("ruido.bin", random.Random(0).randbytes(1024), "attachment_type_unknown", {}),
    ("latin1.csv", "año".encode("latin-1"), "attachment_type_unknown", {}),
    ("vacio.txt", b"", "attachment_empty", {}),
    ("script.py", b"print(1)\n", "attachment_name_mismatch",
     {"kind": "txt", "filename": "script.py", "extension": ".py"}),
    ("broken.docx", zip_of("[Content_Types].xml")[:40], "attachment_name_mismatch",
     {"kind": "zip", "filename": "broken.docx", "extension": ".docx", "suggested": ".zip"}),
    ("informe", PDF, "attachment_name_without_type", {"kind": "pdf", "filename": "informe", "suggested": ".pdf"}),
])
def test_refused_files_say_why(filename, content, code, params):
    with pytest.raises(AttachmentRefused) as refused:
        inspect(filename, content)
    assert refused.value.code == code and params.items() <= refused.value.params.items(), refused.value.params


def test_a_name_that_lies_about_the_content_is_refused_naming_both():
    with pytest.raises(AttachmentRefused) as refused:
        inspect("report.pdf", png())
    assert refused.value.code == "attachment_name_mismatch"
    assert refused.value.params == {"kind": "png", "filename": "report.pdf", "extension": ".pdf", "suggested": ".png"}
    assert i18n.text(refused.value.code, refused.value.params, "es") == (
        "El contenido es una imagen PNG, pero el nombre «report.pdf» indica .pdf; llámelo .png.")


def test_a_file_over_2_mb_is_too_large_and_the_message_says_the_limit():
    with pytest.raises(AttachmentTooLarge) as too_large:
        inspect("big.txt", b"a" * (MAX_BYTES + 1))
    assert too_large.value.limit_bytes == MAX_BYTES
    assert too_large.value.params["max_mb"] == "2"
    assert inspect("limit.txt", b"a" * MAX_BYTES).size == MAX_BYTES


def payload(filename, content):
    return {"filename": filename, "content_base64": base64.b64encode(content).decode()}


def test_decode_gives_the_name_and_bytes():
    assert decode(payload("factura.pdf", PDF)) == ("factura.pdf", PDF)


def test_decode_judges_the_size_from_the_base64_before_decoding_it(monkeypatch):
    big = payload("big.txt", b"a" * (MAX_BYTES + 1))
    monkeypatch.setattr(attachments.base64, "b64decode", lambda *a, **k: pytest.fail("decoded"))
    with pytest.raises(AttachmentTooLarge):
        decode(big)


def test_decode_accepts_exactly_the_limit():
    assert len(decode(payload("limit.txt", b"a" * MAX_BYTES))[1]) == MAX_BYTES


@pytest.mark.parametrize("bad", [
    {"filename": "a.txt", "content_base64": "no es base64!"},
    {"filename": "a.txt", "content_base64": "YWJj\nZA=="},      # line breaks: strict
    {"filename": "a.txt", "content_base64": "YWJjZA"},          # padding missing
    {"filename": "a.txt", "content_base64": "ñañ="},
    {"filename": "a.txt", "content_base64": 12},
    {"filename": "a.txt"},
    {"content_base64": "YWJj"},
    ["a.txt", "YWJj"],
    {"filename": "", "content_base64": "YWJj"},
    {"filename": "../", "content_base64": "YWJj"},
    {"filename": "x" * 252 + ".txt", "content_base64": "YWJj"},
    {"filename": None, "content_base64": "YWJj"},
])
def test_decode_refuses_malformed_payloads(bad):
    with pytest.raises(AttachmentRefused):
        decode(bad)


@pytest.mark.parametrize("given_name, kept", [
    ("../../etc/passwd\r\nX-Evil: 1.txt", "passwdX-Evil: 1.txt"),
    ("C:\\Users\\ana\\Desktop\\informe.pdf", "informe.pdf"),
    ("factura\u202efdp.exe", "facturafdp.exe"),  # the override would show it as "facturaexe.pdf"
    ("  nombre con espacios.txt\x00 ", "nombre con espacios.txt"),
    ("x" * 251 + ".txt", "x" * 251 + ".txt"),
])
def test_filenames_keep_only_a_clean_base_name(given_name, kept):
    assert decode({"filename": given_name, "content_base64": "YWJj"})[0] == kept


def test_content_disposition_is_safe_for_any_name():
    value = content_disposition('informe "final"\r\nañoé\\%.pdf')
    assert value == ("attachment; filename=\"informe _final_anoe__.pdf\"; "
                     "filename*=UTF-8''informe%20%22final%22a%C3%B1o%C3%A9%5C%25.pdf")
    assert content_disposition("日本語.pdf") == (
        "attachment; filename=\"___.pdf\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.pdf")
    assert content_disposition("\r\n") == "attachment; filename=\"attachment\"; filename*=UTF-8''attachment"


SAMPLES = [png(), PDF, GIF, JPEG, MZ, ELF, zip_of("[Content_Types].xml"), zip_of("mimetype"),
           b"\x1f\x8b\x08", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"<svg", "texto ñ".encode()]
NAMES = [f"f.{ext}" for ext in ("pdf", "png", "jpg", "gif", "webp", "zip", "gz", "docx", "xlsx", "pptx",
                                  "odt", "ods", "txt", "csv", "log", "svg", "exe", "")]


@given(filename=st.one_of(st.sampled_from(NAMES), st.text(max_size=300)),
       content=st.one_of(
           st.binary(max_size=2048),
           st.text().map(str.encode),
           st.tuples(st.sampled_from(SAMPLES), st.integers(0, 600), st.binary(max_size=64))
             .map(lambda parts: parts[0][:parts[1]] + parts[2])))
def test_any_bytes_pass_as_an_allowed_type_or_are_refused_never_anything_else(filename, content):
    try:
        attachment = inspect(filename, content)
    except (AttachmentRefused, AttachmentTooLarge):
        return
    assert attachment.content_type in ALLOWED_CONTENT_TYPES
    assert attachment.size == len(content)


def test_what_contracts_publish_is_what_the_tickets_service_does():
    """The gateway and the portal know the upload rules, statuses and page size only from
    helpdesk.contracts; the tickets service's own tables must say the same."""
    from helpdesk import contracts
    from services.tickets import attachments, domain, queries

    assert attachments.ALLOWED_EXTENSIONS == list(contracts.ATTACHMENT_EXTENSIONS)
    assert attachments.MAX_BYTES == contracts.ATTACHMENT_MAX_BYTES == 2 * 1024 * 1024
    assert domain.STATUSES == contracts.TICKET_STATUSES
    assert queries.MAX_LIMIT == contracts.PAGE_MAX
