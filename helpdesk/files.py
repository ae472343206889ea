"""What every file a service accepts from someone passes, whichever service keeps it (tickets'
attachments, content's downloads): a name that cannot break a header or pretend to be another
file, and no start a browser could take for a page of ours. Pure."""
import re
import unicodedata

MAX_FILENAME = 255
# Markup a browser (or a PDF viewer's HTML layer) could run, looked for in the first SNIFFED_BYTES.
ACTIVE_MARKUP = re.compile(rb"<\s*(!doctype\s+html|html|head|body|script|iframe|svg|object|embed|meta)\b"
                           rb"|javascript\s*:", re.IGNORECASE)
XML_DECLARATION = re.compile(rb"<\?xml", re.IGNORECASE)  # text only: XMP metadata in images is XML
SNIFFED_BYTES = 2048  # browsers sniff the start (WHATWG: 1445 bytes after leading whitespace)
# Text a browser could run, whatever the download headers promise.
ACTIVE_TEXT = frozenset({"html", "htm", "xhtml", "svg", "xml", "js", "mjs"})


class FileRefused(Exception):
    """The file is malformed or of a kind we do not accept: `code` (a catalogue key, see
    helpdesk.i18n) and `params` tell the sender why, in their language."""

    def __init__(self, code, **params):
        super().__init__(code, params)
        self.code, self.params = code, params


def safe_filename(name):
    """The base name without control or format characters (CR/LF, NUL, the bidi override that
    shows `factura<RLO>fdp.exe` as `facturaexe.pdf`); refused when nothing usable is left or too long."""
    if not isinstance(name, str):
        raise FileRefused("filename_not_text")
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if unicodedata.category(c) not in ("Cc", "Cf")).strip()
    if base in ("", ".", ".."):
        raise FileRefused("filename_missing")
    if len(base) > MAX_FILENAME:
        raise FileRefused("filename_too_long", max=MAX_FILENAME)
    return base


def starts_active(start):
    """Whether the first bytes of a file hold markup a browser could run (any type: a polyglot too)."""
    return bool(ACTIVE_MARKUP.search(start.lstrip()[:SNIFFED_BYTES]))
