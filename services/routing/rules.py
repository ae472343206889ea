"""Routing decisions: pure. Which department fits a ticket, and which agent on shift takes it."""
import dataclasses
import os
from pathlib import Path

import yaml

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
    non_urgent_24h_to: str
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
        if raw["non_urgent_24h_to"] not in departments:
            raise ValueError(f"non_urgent_24h_to: unknown department {raw['non_urgent_24h_to']!r}")
        assignment = raw.get("assignment") or {}
        strategies = {code: (assignment.get(code) or assignment.get("default") or {}).get("strategy", "round_robin")
                      for code in departments}
        for code, strategy in strategies.items():
            if strategy not in STRATEGIES:
                raise ValueError(f"assignment for {code}: unknown strategy {strategy!r}")
        return cls(raw["non_urgent_24h_to"], tuple(rules), default, strategies, dict(raw.get("agent_shifts") or {}))

    @classmethod
    def load(cls, departments, path=None):
        with open(path or os.environ.get("ROUTING_CONFIG") or DEFAULT_PATH, encoding="utf-8") as handle:
            return cls.from_dict(yaml.safe_load(handle), departments)


def _reason(raw, where):
    if not isinstance(raw, dict) or set(raw) != {"es", "en"}:
        raise ValueError(f"routing rule {where}: give the reason in es and en")
    return dict(raw)


URGENT_ONLY = "support_24h"


def department_for(ticket, config, catalog):
    """(department, reason) for a ticket, from the facts of its opening."""
    department = ticket.get("department")
    if department:
        if catalog.departments[department].urgent_only and ticket.get("urgency") != "high":
            names = catalog.departments[department].names
            return config.non_urgent_24h_to, {
                "es": f"{names['es']} atiende solo tickets urgentes",
                "en": f"{names['en']} takes urgent tickets only"}
        return department, {"es": "el departamento elegido al abrirlo", "en": "the department chosen when opening"}
    itil = ticket.get("itil") or {}
    facts = {"type": itil.get("type"), "category": itil.get("category"), "service": itil.get("service"),
             "urgency": ticket.get("urgency")}
    for rule in config.itil_rules:
        if rule.matches(facts):
            return rule.department, rule.reason
    return config.default.department, config.default.reason


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
