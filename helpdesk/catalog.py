"""The provider's catalogue: departments, services and ITIL categories. Configuration, not code:
`catalog.yaml` at the project root (or CATALOG_PATH), read by every service that needs it."""
import dataclasses
import os
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "catalog.yaml"


@dataclasses.dataclass(frozen=True)
class Department:
    code: str
    names: dict
    calendar: str
    urgent_only: bool = False


@dataclasses.dataclass(frozen=True)
class Catalog:
    """Departments, services and ITIL categories: configuration the provider edits."""

    departments: dict
    services: frozenset
    itil_categories: dict  # itil type -> frozenset of category codes
    urgency_required: dict  # itil type -> bool

    @classmethod
    def from_dict(cls, raw):
        return cls(
            departments={
                d["code"]: Department(d["code"], d["name"], d["calendar"], d.get("urgent_only", False))
                for d in raw["departments"]
            },
            services=frozenset(s["code"] for s in raw["services"]),
            itil_categories={
                kind: frozenset(c["code"] for c in spec["categories"])
                for kind, spec in raw["itil"].items()
            },
            urgency_required={kind: spec["urgency_required"] for kind, spec in raw["itil"].items()},
        )

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(yaml.safe_load(handle))


def load(config=None):
    path = (config or {}).get("CATALOG_PATH") or os.environ.get("CATALOG_PATH") or DEFAULT_PATH
    return Catalog.load(path)
