"""Routing decisions: pure. Which department fits a ticket, and which agent on shift takes it.

A ticket opened by department keeps it, under the catalogue's urgent-only rule
(`Catalog.placement`, which tickets apply themselves when opening); an ITIL ticket goes where
routing.yaml's rules say. `preview` answers the same question for a form not yet sent."""
import dataclasses
from pathlib import Path

import yaml

from helpdesk import catalog

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "routing.yaml"
MATCH_KEYS = ("type", "category", "service", "urgency")


@dataclasses.dataclass(frozen=True)
class Rule:
    when: dict
    department: str
    reason: dict  # language -> text

    def matches(self, facts):
        return all(facts.get(key) == value for key, value in self.when.items())


@dataclasses.dataclass(frozen=True)
class RoutingConfig:
    itil_rules: tuple
    default: Rule
    strategies: dict
    agent_shifts: dict

    @classmethod
    def from_dict(cls, raw, departments):
        rules = []
        for index, item in enumerate(raw.get("itil_rules") or ()):
            unknown = set(item["when"]) - set(MATCH_KEYS)
            if unknown:
                raise ValueError(f"routing rule {index}: unknown keys {sorted(unknown)}")
            rules.append(Rule(dict(item["when"]), item["department"], _reason(item["reason"], index)))
        default = Rule({}, raw["default"]["department"], _reason(raw["default"]["reason"], "default"))
        for rule in (*rules, default):
            if rule.department not in departments:
                raise ValueError(f"routing rule to unknown department {rule.department!r}")
            if departments[rule.department].urgent_only and not catalog.is_urgent(rule.when.get("urgency")):
                raise ValueError(f"routing rule to {rule.department}, which takes urgent tickets only: "
                                 f"add urgency: {catalog.URGENT} to its `when`")
        assignment = raw.get("assignment") or {}
        strategies = {code: (assignment.get(code) or assignment.get("default") or {}).get("strategy", "round_robin")
                      for code in departments}
        for code, strategy in strategies.items():
            if strategy not in STRATEGIES:
                raise ValueError(f"assignment for {code}: unknown strategy {strategy!r}")
        return cls(tuple(rules), default, strategies, dict(raw.get("agent_shifts") or {}))

    @classmethod
    def load(cls, departments, path=None):
        with open(path or DEFAULT_PATH, encoding="utf-8") as handle:
            return cls.from_dict(yaml.safe_load(handle), departments)


def described(config, path=None, calendars=None):
    """The rules as the admin console shows them, read-only, with where they are changed, and the
    business calendars that shifts name (sla.yaml)."""
    def rule(item):
        return {"when": dict(item.when), "department": item.department, "reason": dict(item.reason)}
    return {"itil_rules": [rule(item) for item in config.itil_rules], "default": rule(config.default),
            "assignment": dict(config.strategies), "agent_shifts": dict(config.agent_shifts),
            "file": Path(path or DEFAULT_PATH).name,
            "calendars": {name: calendar.described() for name, calendar in sorted((calendars or {}).items())}}


def _reason(raw, where):
    if not isinstance(raw, dict) or set(raw) != {"es", "en"}:
        raise ValueError(f"routing rule {where}: give the reason in es and en")
    return dict(raw)


CHOSEN = {"es": "el departamento elegido al abrirlo", "en": "the department chosen when opening"}


def department_for(ticket, config, provider_catalog):
    """(department, reason) for a ticket, from the facts of its opening (and its urgency now)."""
    department = ticket.get("department")
    if department:
        placed, reason = provider_catalog.placement(department, ticket.get("urgency"))
        return placed, reason or CHOSEN
    itil = ticket.get("itil") or {}
    facts = {"type": itil.get("type"), "category": itil.get("category"), "service": itil.get("service"),
             "urgency": ticket.get("urgency")}
    for rule in config.itil_rules:
        if rule.matches(facts):
            return rule.department, rule.reason
    return config.default.department, config.default.reason


def preview(query, config, provider_catalog):
    """Where a ticket with these answers would go, and why: what the form shows before sending.
    `query` (contracts.RoutingPreviewSchema, checked against the catalogue) gives a department, or
    an ITIL type, service and category; and an urgency, or none (not urgent). `changed`: the
    ticket would not stay in the department asked for; `reason` is None when it would."""
    if query.get("department"):
        department, reason = provider_catalog.placement(query["department"], query.get("urgency"))
        changed = department != query["department"]
    else:
        itil = {key: query[key] for key in ("type", "service", "category")}
        department, reason = department_for({"itil": itil, "urgency": query.get("urgency")}, config,
                                            provider_catalog)
        changed = False
    return {"department": department, "department_name": dict(provider_catalog.departments[department].names),
            "reason": reason, "changed": changed}


def choose_agent(strategy, agents_on_shift, open_counts, last_assigned):
    """The agent who takes the next ticket, or None when nobody is on shift.

    round_robin: the next agent after the last one assigned (in a stable order by id);
    least_loaded: the one with the fewest open tickets (ties: round robin order)."""
    candidates = sorted(agents_on_shift)
    if not candidates:
        return None
    if strategy == "least_loaded":
        fewest = min(open_counts.get(agent, 0) for agent in candidates)
        candidates = [agent for agent in candidates if open_counts.get(agent, 0) == fewest]
    after = [agent for agent in candidates if last_assigned is not None and agent > last_assigned]
    return (after or candidates)[0]


STRATEGIES = ("round_robin", "least_loaded")
