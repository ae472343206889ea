"""Polyglots: files that are a PDF or an image to our type check and something active to another
program. Refused: active markup in the first 2 KB of any file or anywhere in a PDF, and PDFs
that run code, launch programs, carry other files or dynamic forms, also when hidden behind
#-escaped names or inside compressed object streams. Clean files of the same types still pass."""
import zlib

import pytest

from helpdesk import i18n
from services.tickets.attachments import AttachmentRefused, inspect

PDF_HEAD = b"%PDF-1.7\n"
PDF_TAIL = b"trailer << /Root 1 0 R >>\n%%EOF\n"
GIF_HEAD = b"GIF89a\x01\x00\x01\x00\x00\x00\x00"
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


def pdf(*objects):
    return PDF_HEAD + b"".join(objects) + PDF_TAIL


def object_stream(content, dictionary=b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode"):
    data = zlib.compress(content)
    return (b"5 0 obj << " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data
            + b"\nendstream endobj\n")


CATALOG = b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
IMAGE = (b"3 0 obj << /Type /XObject /Subtype /Image /Filter /FlateDecode >>\nstream\n"
         + zlib.compress(bytes(range(256)) * 64) + b"\nendstream endobj\n")

REFUSED = {
    "PDF + HTML": ("f.pdf", pdf(CATALOG, b"%<html><body><script>alert(1)</script></body></html>\n"),
                   "attachment_active_content"),
    "PDF + HTML far past the header": ("f.pdf", pdf(CATALOG, b"%" + b"x" * 50_000 + b"\n<svg onload=alert(1)>\n"),
                                       "attachment_active_content"),
    "PDF with /OpenAction /JS": ("f.pdf", pdf(b"1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript"
                                              b" /JS (app.alert(1)) >> >> endobj\n"), "attachment_pdf_active"),
    "PDF with /JS only": ("f.pdf", pdf(b"1 0 obj << /OpenAction << /S /Named /JS 4 0 R >> >> endobj\n"),
                          "attachment_pdf_active"),
    "PDF with /Launch": ("f.pdf", pdf(b"1 0 obj << /OpenAction << /S /Launch /F (cmd.exe) >> >> endobj\n"),
                         "attachment_pdf_active"),
    "PDF with an embedded file": ("f.pdf", pdf(b"1 0 obj << /Names << /EmbeddedFiles 2 0 R >> >> endobj\n"),
                                  "attachment_pdf_active"),
    "PDF with an XFA form": ("f.pdf", pdf(b"1 0 obj << /AcroForm << /XFA 7 0 R >> >> endobj\n"),
                             "attachment_pdf_active"),
    "PDF with #-escaped /JavaScript": ("f.pdf", pdf(b"1 0 obj << /OpenAction << /S /J#61vaScr#69pt"
                                                    b" /J#53 (x) >> >> endobj\n"), "attachment_pdf_active"),
    "PDF with /JS in a compressed object stream": (
        "f.pdf", pdf(CATALOG, object_stream(b"6 0 << /S /JavaScript /JS (app.alert(1)) >>")),
        "attachment_pdf_active"),
    "PDF with an object stream it cannot read": (
        "f.pdf", pdf(CATALOG, b"5 0 obj << /Type /ObjStm /Filter /LZWDecode /Length 3 >>\nstream\nabc\n"
                              b"endstream endobj\n"), "attachment_pdf_unreadable"),
    "PDF with a corrupt object stream": (
        "f.pdf", pdf(CATALOG, b"5 0 obj << /Type /ObjStm /Filter /FlateDecode /Length 3 >>\nstream\nabc\n"
                              b"endstream endobj\n"), "attachment_pdf_unreadable"),
    "GIF + script": ("f.gif", GIF_HEAD + b"!\xfe\x20<script>alert(1)</script>\x00;", "attachment_active_content"),
    "GIF + javascript: URL": ("f.gif", GIF_HEAD + b"!\xfe\x11javascript:alert(1)\x00;", "attachment_active_content"),
    "PNG + HTML": ("f.png", PNG_HEAD + b"\x00\x00\x00\x10tEXt<html><body>x", "attachment_active_content"),
    "text with a javascript: link at the start": ("notas.txt", b"javascript:alert(document.cookie)\n",
                                                  "attachment_active_content"),
}


@pytest.mark.parametrize("name, content, code", REFUSED.values(), ids=REFUSED.keys())
def test_polyglots_are_refused_saying_why(name, content, code):
    with pytest.raises(AttachmentRefused) as refused:
        inspect(name, content)
    assert refused.value.code == code
    assert i18n.text(refused.value.code, refused.value.params, "es")  # worded, with its parameters


def test_the_refusal_names_what_the_pdf_carries():
    with pytest.raises(AttachmentRefused) as refused:
        inspect("f.pdf", REFUSED["PDF with /Launch"][1])
    assert refused.value.params == {"feature": "/Launch"}


ACCEPTED = {
    "a plain PDF": ("f.pdf", pdf(CATALOG, IMAGE)),
    "a PDF with a clean object stream": ("f.pdf", pdf(CATALOG, object_stream(b"6 0 << /Type /Page /JSON 1 >>"))),
    "a PDF with XMP metadata": ("f.pdf", pdf(CATALOG, b"4 0 obj << /Type /Metadata >>\nstream\n<?xpacket begin=''?>"
                                                      b"<x:xmpmeta xmlns:x='adobe:ns:meta/'></x:xmpmeta>\n"
                                                      b"endstream endobj\n")),
    "a PDF with a link": ("f.pdf", pdf(b"1 0 obj << /S /URI /URI (https://example.com/) >> endobj\n")),
    "a GIF": ("f.gif", GIF_HEAD + b";"),
    "text about JavaScript": ("notas.txt", "El script de JavaScript falla: ver consola.\n".encode()),
}


@pytest.mark.parametrize("name, content", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_clean_files_of_the_same_types_pass(name, content):
    assert inspect(name, content).size == len(content)
