"""Attachments of a ticket: one file per opening or follow-up, checked by content, kept out of events.

Events are published to every consumer and can never be erased, so they carry only what describes
the file (`Attachment.as_event_data`); the bytes live in `tickets.attachments`, readable through
`load` by whoever may see the ticket. The type is decided by the content (magic bytes, or "valid
UTF-8 without NUL" for text), never by the name or a client's claim, and the name must agree with
it, so a downloaded file opens in the program its content is for.

The first part is pure; `save` and `load` take the caller's cursor, joining its transaction.
"""
import base64
import dataclasses
import hashlib
import io
import re
import uuid
import zipfile
import zlib
from pathlib import PurePosixPath

import filetype

from helpdesk import contracts
from helpdesk.files import (ACTIVE_MARKUP, ACTIVE_TEXT, SNIFFED_BYTES, XML_DECLARATION, FileRefused,
                            safe_filename, starts_active)

MAX_BYTES = contracts.ATTACHMENT_MAX_BYTES


# An attachment we do not accept, for its name (helpdesk.files) or its content.
AttachmentRefused = FileRefused


class AttachmentTooLarge(Exception):
    """Over `MAX_BYTES` (HTTP 413). Not an `AttachmentRefused`, so no handler maps it to 422 by accident."""

    code = "attachment_too_large"

    def __init__(self, limit_bytes=MAX_BYTES):
        self.limit_bytes = limit_bytes
        self.params = {"max_mb": f"{limit_bytes / 2**20:g}", "max_bytes": limit_bytes}
        super().__init__(self.code, self.params)


@dataclasses.dataclass(frozen=True)
class Kind:
    label: str
    content_type: str
    extensions: tuple  # the names it may have, first the usual one


PDF = Kind("PDF", "application/pdf", ("pdf",))
PNG = Kind("PNG image", "image/png", ("png",))
JPEG = Kind("JPEG image", "image/jpeg", ("jpg", "jpeg"))
GIF = Kind("GIF image", "image/gif", ("gif",))
WEBP = Kind("WebP image", "image/webp", ("webp",))
ZIP = Kind("ZIP archive", "application/zip", ("zip",))
GZIP = Kind("GZIP archive", "application/gzip", ("gz", "tgz"))
DOCX = Kind("Word document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",))
XLSX = Kind("Excel workbook", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",))
PPTX = Kind("PowerPoint presentation",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation", ("pptx",))
ODT = Kind("OpenDocument text", "application/vnd.oasis.opendocument.text", ("odt",))
ODS = Kind("OpenDocument spreadsheet", "application/vnd.oasis.opendocument.spreadsheet", ("ods",))

# What filetype names by magic bytes → what we accept it as (an animated PNG is still a PNG).
BY_DETECTION = {"pdf": PDF, "png": PNG, "apng": PNG, "jpg": JPEG, "gif": GIF, "webp": WEBP,
                "zip": ZIP, "gz": GZIP, "docx": DOCX, "xlsx": XLSX, "pptx": PPTX, "odt": ODT, "ods": ODS}
# Office files are ZIP containers; filetype recognises them only by the first few entries.
OFFICE = {kind.extensions[0]: kind for kind in (DOCX, XLSX, PPTX, ODT, ODS)}
# Text has no magic bytes: its name says which text it is.
TEXT = {"txt": "text/plain", "text": "text/plain", "log": "text/plain", "csv": "text/csv",
        "tsv": "text/tab-separated-values", "md": "text/markdown", "json": "application/json"}
# PDF names that run code or programs, or smuggle other files: the JavaScript of /OpenAction or /AA
# (/JS, /JavaScript), /Launch, embedded files, Flash (/RichMedia), XFA forms (which carry scripts).
PDF_ACTIVE_NAMES = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA)(?=[\s()<>\[\]{}/%]|$)")
PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")  # /J#61vaScript is /JavaScript
PDF_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.DOTALL)
PDF_INFLATE_BUDGET = 8 * MAX_BYTES  # object streams inflated to look inside, at most this much per file

ALLOWED_CONTENT_TYPES = frozenset({kind.content_type for kind in BY_DETECTION.values()} | set(TEXT.values()))
# Every file name extension a document may have (what a client can check before uploading).
ALLOWED_EXTENSIONS = sorted({ext for kind in BY_DETECTION.values() for ext in kind.extensions} | set(TEXT))


@dataclasses.dataclass(frozen=True)
class Attachment:
    attachment_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str  # hex

    def as_event_data(self):
        """What events carry: enough to list and verify the file, never the file itself."""
        return {"id": str(self.attachment_id), "name": self.filename, "size": self.size,
                "type": self.content_type, "sha256": self.sha256}


def decode(payload):
    """`{"filename", "content_base64"}` from the API → (safe filename, bytes). The size is judged
    from the base64 length first, so an oversized file is refused before it is decoded."""
    if not isinstance(payload, dict) or not {"filename", "content_base64"} <= payload.keys():
        raise AttachmentRefused("attachment_shape")
    filename, encoded = safe_filename(payload["filename"]), payload["content_base64"]
    if not isinstance(encoded, str):
        raise AttachmentRefused("base64_not_text")
    if len(encoded.rstrip("=")) * 3 // 4 > MAX_BYTES:
        raise AttachmentTooLarge(MAX_BYTES)
    try:
        content = base64.b64decode(encoded, validate=True)
    except ValueError:  # binascii.Error, or characters outside ASCII
        raise AttachmentRefused("base64_invalid") from None
    return filename, content


def inspect(filename, content):
    """The accepted `Attachment` for these bytes under this name (a new id), or the reason not."""
    filename, content = safe_filename(filename), bytes(content)
    if len(content) > MAX_BYTES:
        raise AttachmentTooLarge(MAX_BYTES)
    if not content:
        raise AttachmentRefused("attachment_empty")
    extension = PurePosixPath(filename).suffix[1:].lower()
    if starts_active(content):
        raise AttachmentRefused("attachment_active_content")
    detected = filetype.guess(content)
    if detected is not None:
        content_type = _binary_type(filename, extension, detected, content)
    else:
        content_type = _text_type(filename, extension, content)
    if content_type == PDF.content_type:
        _check_pdf(content)
    return Attachment(attachment_id=uuid.uuid4(), filename=filename, content_type=content_type,
                      size=len(content), sha256=hashlib.sha256(content).hexdigest())


def _binary_type(filename, extension, detected, content):
    kind = BY_DETECTION.get(detected.extension)
    if kind is None:
        raise AttachmentRefused("attachment_type_not_accepted", type=detected.mime)
    if kind is ZIP and extension in OFFICE and _is_zip(content):
        kind = OFFICE[extension]
    if extension not in kind.extensions:
        raise _name_mismatch(kind.extensions[0], filename, extension, [kind.extensions[0]])
    return kind.content_type


def _text_type(filename, extension, content):
    try:
        text = None if b"\x00" in content else content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is None:
        raise AttachmentRefused("attachment_type_unknown")
    if extension in ACTIVE_TEXT or XML_DECLARATION.search(content.lstrip()[:SNIFFED_BYTES]):
        raise AttachmentRefused("attachment_active_content")
    if extension not in TEXT:
        raise _name_mismatch("txt", filename, extension, ["txt", *sorted(set(TEXT) - {"txt"})])
    return TEXT[extension]


def _check_pdf(content):
    """Refuses a PDF that could act when opened: HTML or script markup anywhere, or a name of
    PDF_ACTIVE_NAMES in its dictionaries, including those packed in compressed object streams.
    Other streams (page contents, images, fonts) hold no dictionaries and are not inflated."""
    if ACTIVE_MARKUP.search(content):
        raise AttachmentRefused("attachment_active_content")
    outside, budget, position = [], PDF_INFLATE_BUDGET, 0
    for stream in PDF_STREAM.finditer(content):
        before = content[position:stream.start()]
        outside.append(before)
        position = stream.end()
        dictionary = PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), before[-1024:])
        if b"/ObjStm" in dictionary:
            inflated = _inflate_object_stream(dictionary, stream.group(1), budget)
            budget -= len(inflated)
            outside.append(inflated)
    outside.append(content[position:])
    names = PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), b"\n".join(outside))
    found = PDF_ACTIVE_NAMES.search(names)
    if found:
        raise AttachmentRefused("attachment_pdf_active", feature=found.group(0).decode("ascii"))


def _inflate_object_stream(dictionary, data, budget):
    """An object stream's dictionaries as text: Flate only, within `budget` bytes. One we cannot
    read is refused: what it hides cannot be checked."""
    if b"/FlateDecode" not in dictionary or b"/DecodeParms" in dictionary:
        raise AttachmentRefused("attachment_pdf_unreadable")
    inflater = zlib.decompressobj()
    try:
        inflated = inflater.decompress(data, budget + 1)
    except zlib.error:
        raise AttachmentRefused("attachment_pdf_unreadable") from None
    if len(inflated) > budget:
        raise AttachmentRefused("attachment_pdf_unreadable")
    return inflated


def _name_mismatch(kind, filename, extension, extensions):
    """The content is of `kind` (an extension, worded by the catalogue's file_kind.*), the name
    says otherwise: name it with one of `extensions`."""
    suggested = ", ".join(f".{name}" for name in extensions)
    if not extension:
        return AttachmentRefused("attachment_name_without_type", kind=kind, filename=filename, suggested=suggested)
    return AttachmentRefused("attachment_name_mismatch", kind=kind, filename=filename, extension=f".{extension}",
                             suggested=suggested)


def _is_zip(content):
    """The central directory parses. Entries are not decompressed: a 2 MB zip bomb stays 2 MB."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return bool(archive.namelist())
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, NotImplementedError):
        return False


# Storage: the caller's cursor, so the file is stored in the same transaction as the event.

def save(cur, ticket_id, attachment, content, internal=False):
    """Stores the bytes of an inspected attachment. `internal`: attached to a staff note, never
    downloadable by a customer."""
    if len(content) != attachment.size or hashlib.sha256(content).hexdigest() != attachment.sha256:
        raise ValueError("the content is not the one this attachment describes")
    cur.execute(
        "INSERT INTO tickets.attachments (attachment_id, ticket_id, filename, content_type, size, sha256,"
        " content, internal) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (str(attachment.attachment_id), str(ticket_id), attachment.filename, attachment.content_type,
         attachment.size, attachment.sha256, bytes(content), internal))


def load(cur, ticket_id, attachment_id):
    """(Attachment, internal, bytes), or None when there is no such attachment on that ticket
    (including ids that are not UUIDs: a 404, like any other)."""
    try:
        ticket_id, attachment_id = uuid.UUID(str(ticket_id)), uuid.UUID(str(attachment_id))
    except ValueError:
        return None
    cur.execute(
        "SELECT filename, content_type, size, sha256, internal, content FROM tickets.attachments"
        " WHERE attachment_id = %s AND ticket_id = %s", (str(attachment_id), str(ticket_id)))
    row = cur.fetchone()
    if row is None:
        return None
    filename, content_type, size, sha256, internal, content = row
    attachment = Attachment(attachment_id=attachment_id, filename=filename, content_type=content_type,
                            size=size, sha256=sha256)
    return attachment, internal, bytes(content)
