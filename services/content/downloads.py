"""Recommended downloads' files, judged by their content: pure. A file arrives and leaves in
pieces of PIECE_BYTES (the gateway streams them over RPC; repository.py keeps them one per row),
so no process ever holds a whole file; the type is decided by the first piece and the name
must agree with it (a firmware `.bin` that is a Windows program is refused), the checksum is
computed piece by piece."""
import hashlib
from pathlib import PurePosixPath

import filetype

from helpdesk import contracts
from helpdesk.files import ACTIVE_TEXT, SNIFFED_BYTES, XML_DECLARATION, FileRefused, safe_filename, starts_active

PIECE_BYTES = contracts.DOWNLOAD_PIECE_BYTES
# Names a detected type may have besides its own extension (filetype names ZIP, GZIP, ... by one).
ALSO_NAMED = {
    "zip": {"apk", "jar", "xpi", "ipa", "whl", "nupkg", "vsix", "aab"},
    "jpg": {"jpeg"}, "tif": {"tiff"}, "gz": {"tgz"}, "bz2": {"tbz2", "tbz"}, "xz": {"txz"},
    "exe": {"dll", "efi"}, "elf": {"bin", "run", "so", "appimage"},
    "doc": {"msi", "xls", "ppt", "msg"},  # the OLE container (Windows Installer too)
    "xls": {"msi", "doc", "ppt"}, "ppt": {"msi", "doc", "xls"},
}
# What a file without a detectable type may be called: text, or bytes only their program knows.
TEXT_TYPE, OPAQUE_TYPE = "text/plain; charset=utf-8", "application/octet-stream"


def pieces(size):
    """How many pieces a file of `size` bytes is kept in."""
    return max(1, -(-size // PIECE_BYTES))


def check_start(filename, size, limit):
    """The name to keep, or why not, before any byte is received."""
    filename = safe_filename(filename)
    if size <= 0:
        raise FileRefused("download_empty")
    if size > limit:
        raise FileRefused("download_too_large", max_mb=f"{limit / 2**20:g}")
    return filename


def content_type(filename, first_piece, complete):
    """The type of a file whose first piece is `first_piece` (`complete`: it is the whole file),
    or FileRefused: markup a browser could run, or a name that says another type."""
    extension = PurePosixPath(filename).suffix[1:].lower()
    if starts_active(first_piece):
        raise FileRefused("attachment_active_content")
    detected = filetype.guess(first_piece)
    if detected is not None:
        named = {detected.extension, *ALSO_NAMED.get(detected.extension, ())}
        if extension not in named:
            raise FileRefused("download_name_mismatch", filename=filename, extension=f".{extension}" if extension else "-",
                              suggested=", ".join(f".{name}" for name in sorted(named)))
        return detected.mime
    if _is_text(first_piece, complete):
        if extension in ACTIVE_TEXT or XML_DECLARATION.search(first_piece.lstrip()[:SNIFFED_BYTES]):
            raise FileRefused("attachment_active_content")
        return TEXT_TYPE
    return OPAQUE_TYPE


def _is_text(start, complete):
    """UTF-8 without NUL (a character cut at the end of a piece that is not the last counts)."""
    if b"\x00" in start:
        return False
    try:
        start.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        return not complete and exc.start >= len(start) - 3 and exc.reason == "unexpected end of data"


class Digest:
    """Size and SHA-256 of a file read piece by piece, in order."""

    def __init__(self):
        self.hash, self.size = hashlib.sha256(), 0

    def add(self, piece):
        self.hash.update(piece)
        self.size += len(piece)

    def hexdigest(self):
        return self.hash.hexdigest()
