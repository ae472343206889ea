"""Canned replies of the staff console (replies.yaml, or CANNED_REPLIES_PATH): ready-made answers
per department in Spanish and English, which an agent picks, edits and sends as a public reply.
Configuration the provider edits; a file that names an unknown department or lacks a language is
refused when the gateway starts, not when an agent first opens a ticket."""
import dataclasses
from pathlib import Path

import yaml
from nameko.extensions import DependencyProvider

from helpdesk import catalog

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "replies.yaml"
LANGUAGES = ("es", "en")
COMMON = "all"


class BadReplies(ValueError):
    """The file is not a catalogue of canned replies: what is wrong, and where."""


@dataclasses.dataclass(frozen=True)
class CannedReplies:
    common: tuple
    by_department: dict
    departments: frozenset  # the catalogue's codes: a department to ask for

    def of(self, department):
        """The department's replies, then those of every department."""
        return [*self.by_department.get(department, ()), *self.common]

    @classmethod
    def load(cls, config, departments=None):
        if departments is None:
            departments = catalog.load(config).departments
        path = (config or {}).get("CANNED_REPLIES_PATH") or DEFAULT_PATH
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle) or {}
        return cls.from_dict(raw, departments, str(path))

    @classmethod
    def from_dict(cls, raw, departments, where="replies"):
        unknown = set(raw.get("departments") or {}) - set(departments)
        if unknown:
            raise BadReplies(f"{where}: unknown departments {sorted(unknown)}")
        return cls(tuple(_replies(raw.get(COMMON) or [], f"{where}: {COMMON}")),
                   {code: tuple(_replies(items or [], f"{where}: {code}"))
                    for code, items in (raw.get("departments") or {}).items()},
                   frozenset(departments))


def _replies(items, where):
    seen = set()
    for item in items:
        code = item.get("code") if isinstance(item, dict) else None
        if not code or code in seen:
            raise BadReplies(f"{where}: every reply needs a code of its own ({code!r})")
        seen.add(code)
        for part in ("title", "body"):
            texts = item.get(part) or {}
            missing = [language for language in LANGUAGES if not str(texts.get(language) or "").strip()]
            if missing:
                raise BadReplies(f"{where}: {code}: {part} lacks {', '.join(missing)}")
        yield {"code": code, "title": {lang: item["title"][lang] for lang in LANGUAGES},
               "body": {lang: item["body"][lang].strip() for lang in LANGUAGES}}


class Canned(DependencyProvider):
    """The canned replies, loaded (and checked) once per gateway process as it starts."""

    def setup(self):
        self.replies = CannedReplies.load(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.replies
