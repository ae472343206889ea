"""The provider's catalogue: departments, services and ITIL categories. Configuration, not code:
`catalog.yaml` at the project root (or CATALOG_PATH), read by every service that needs it."""
import dataclasses
import os
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "catalog.yaml"
URGENT = "high"  # the one urgency that counts as urgent (the manual: "tickets urgentes")


def is_urgent(urgency):
    return urgency == URGENT


@dataclasses.dataclass(frozen=True)
class Department:
    code: str
    names: dict
    calendar: str
    urgent_only: bool = False
    non_urgent_to: str | None = None  # urgent_only: where a ticket that is not urgent goes instead
    non_urgent_reason: dict | None = None  # ... and why, in es and en (shown in its history)


@dataclasses.dataclass(frozen=True)
class Component:
    """A part of a service whose state the network status page shows (an incident affects it)."""

    code: str
    service: str
    names: dict


@dataclasses.dataclass(frozen=True)
class Catalog:
    """Departments, services and ITIL categories: configuration the provider edits."""

    departments: dict
    services: frozenset
    itil_categories: dict  # itil type -> frozenset of category codes
    urgency_required: dict  # itil type -> bool
    components: dict = dataclasses.field(default_factory=dict)  # code -> Component, in catalogue order

    def placement(self, department, urgency):
        """(department, reason) for a ticket asked for `department` with `urgency`: an urgent-only
        department takes urgent tickets only and sends the rest to its `non_urgent_to`, with its
        reason ({es, en}); reason is None when the ticket stays where it was asked for. The one
        place this rule is written: tickets apply it when opening and when the urgency changes,
        routing in its decisions and in the form's preview."""
        asked = self.departments[department]
        if asked.urgent_only and not is_urgent(urgency):
            return asked.non_urgent_to, dict(asked.non_urgent_reason)
        return department, None

    @classmethod
    def from_dict(cls, raw):
        departments = {
            d["code"]: Department(d["code"], d["name"], d["calendar"], d.get("urgent_only", False),
                                  d.get("non_urgent_to"), d.get("non_urgent_reason"))
            for d in raw["departments"]
        }
        _check_urgent_only(departments)
        components = {}
        for service in raw["services"]:
            for item in service.get("components") or ():
                if item["code"] in components:
                    raise ValueError(f"component {item['code']}: listed twice (codes are unique across services)")
                components[item["code"]] = Component(item["code"], service["code"], dict(item["name"]))
        return cls(
            components=components,
            departments=departments,
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


def _check_urgent_only(departments):
    """An urgent-only department names where the rest go (a department that takes them all) and
    why, in es and en: refused at load, not when the first ticket arrives."""
    for department in departments.values():
        if not department.urgent_only:
            continue
        target = departments.get(department.non_urgent_to)
        if target is None or target.urgent_only:
            raise ValueError(f"department {department.code}: urgent_only needs non_urgent_to, a department "
                             f"that takes every ticket (got {department.non_urgent_to!r})")
        reason = department.non_urgent_reason
        if not isinstance(reason, dict) or set(reason) != {"es", "en"} or not all(reason.values()):
            raise ValueError(f"department {department.code}: give non_urgent_reason in es and en")


def load(config=None):
    path = (config or {}).get("CATALOG_PATH") or os.environ.get("CATALOG_PATH") or DEFAULT_PATH
    return Catalog.load(path)


def public_view(config=None):
    """What anyone may read of the catalogue, with its labels in every language: the portal's
    ticket form is built from it (GET /api/v1/catalog), never from codes written in a page."""
    path = (config or {}).get("CATALOG_PATH") or os.environ.get("CATALOG_PATH") or DEFAULT_PATH
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    return {
        "departments": [
            {"code": d["code"], "name": d["name"], "calendar": d["calendar"],
             "urgent_only": d.get("urgent_only", False), "description": d.get("description")}
            for d in raw["departments"]
        ],
        "services": [{"code": s["code"], "name": s["name"],
                      "components": [{"code": c["code"], "name": c["name"]} for c in s.get("components") or ()]}
                     for s in raw["services"]],
        "itil_types": [
            {"code": kind, "name": spec.get("name", {}), "urgency_required": spec["urgency_required"],
             "categories": [{"code": c["code"], "name": c["name"]} for c in spec["categories"]]}
            for kind, spec in raw["itil"].items()
        ],
        "urgencies": [{"code": u["code"], "name": u["name"]} for u in raw.get("urgencies", [])],
    }
