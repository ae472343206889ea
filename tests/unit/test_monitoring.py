"""deploy/: the Grafana dashboard and the Prometheus rules name only metrics helpdesk/metrics.py
defines (and Prometheus's own `up`), show what issue 14 asks for, and the alerts fire on
synthetic series and stay quiet otherwise (promtool, Debian's prometheus package, which
deploy/dev/install.sh installs: missing, this fails rather than skips)."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from helpdesk import metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "helpdesk.json"
PROMETHEUS = DEPLOY / "prometheus"
KNOWN = metrics.exposed_names() | {"up"}


def series_names(expr):
    """The metric names an expression reads: what is left once strings, label matchers, ranges,
    grouping clauses, functions, keywords and numbers are taken out."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\b[a-zA-Z_]\w*\s*\(", "(", expr)  # functions and aggregations
    words = set(re.findall(r"[a-zA-Z_:][\w:]*", expr))
    return words - {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def test_the_name_finder_finds_names_and_only_names():
    assert series_names('sum by (route) (rate(helpdesk_http_requests_total{status=~"5.."}[5m])) / on(route)'
                        ' sum(rate(helpdesk_http_requests_total[5m])) > bool 0.05') == {"helpdesk_http_requests_total"}
    assert series_names("histogram_quantile(0.95, sum by (le) (rate(nope_seconds_bucket[1m])))") == {"nope_seconds_bucket"}


def dashboard_panels():
    return [panel for panel in json.loads(DASHBOARD.read_text())["panels"] if panel["type"] != "row"]


def test_the_dashboard_loads_and_reads_only_metrics_we_define():
    panels = dashboard_panels()
    assert panels
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = series_names(target["expr"])
            assert names and names <= KNOWN, (panel["title"], names - KNOWN)


def test_the_dashboard_has_the_panels_the_issue_lists():
    reads = {}
    for panel in dashboard_panels():
        reads[panel["title"]] = set().union(*(series_names(t["expr"]) for t in panel["targets"]))
    wanted = {  # what ops must see: a panel reading each
        "request rate": "helpdesk_http_requests_total", "latency": "helpdesk_http_request_duration_seconds_bucket",
        "rpc calls": "helpdesk_rpc_calls_total", "rpc errors": "helpdesk_rpc_errors_total",
        "appended": "helpdesk_events_appended_total", "relayed": "helpdesk_events_relayed_total",
        "relay lag": "helpdesk_relay_lag_seconds", "consumer lag": "helpdesk_consumer_lag_seconds",
        "parked": "helpdesk_inbox_parked_events", "dead-letter": "helpdesk_dlq_messages",
        "mails": "helpdesk_mails_total", "sla": "helpdesk_sla_alerts_total", "usage": "helpdesk_usage_records_total",
    }
    for words, metric in wanted.items():
        assert any(words in title.lower() and metric in names for title, names in reads.items()), words
    errors = [t["expr"] for p in dashboard_panels() if "error" in p["title"].lower() for t in p["targets"]]
    assert any('status=~"5.."' in expr and "route" in expr for expr in errors)  # errors by route


def rules():
    return [rule for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
            for rule in group["rules"]]


def test_the_alerts_read_only_metrics_we_define_and_cover_the_issues_list():
    by_name = {rule["alert"]: rule for rule in rules()}
    for name, rule in by_name.items():
        names = series_names(rule["expr"])
        assert names and names <= KNOWN, (name, names - KNOWN)
        assert rule["annotations"]["summary"] and rule["labels"]["severity"]
    reads = {name: series_names(rule["expr"]) for name, rule in by_name.items()}
    for metric in ("up", "helpdesk_relay_lag_seconds", "helpdesk_consumer_lag_seconds", "helpdesk_dlq_messages",
                   "helpdesk_mails_total", "helpdesk_sla_alerts_total"):
        assert any(metric in names for names in reads.values()), metric


def test_every_alert_has_a_unit_test_that_fires_it_and_one_that_finds_it_quiet():
    tests = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text())["tests"]
    checks = [check for test in tests for check in test["alert_rule_test"]]
    for rule in rules():
        mine = [check for check in checks if check["alertname"] == rule["alert"]]
        assert any(check["exp_alerts"] for check in mine), rule["alert"]
        assert any(not check["exp_alerts"] for check in mine), rule["alert"]


def promtool(*args):
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: deploy/dev/install.sh installs it (Debian's prometheus package)"
    return subprocess.run([tool, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args", [("check", "rules", "alerts.yml"), ("test", "rules", "alerts.test.yml"),
                                  ("check", "config", "prometheus.yml")])
def test_promtool_accepts_the_rules_their_tests_and_the_example_configuration(args):
    done = promtool(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def test_promtool_tests_fail_when_an_alert_does_not_behave(tmp_path):
    """The unit tests can fail: the same tests against a rule that never fires."""
    broken = (PROMETHEUS / "alerts.yml").read_text().replace("helpdesk_dlq_messages) > 0", "helpdesk_dlq_messages) > 1000")
    assert broken != (PROMETHEUS / "alerts.yml").read_text()
    (tmp_path / "alerts.yml").write_text(broken)
    (tmp_path / "alerts.test.yml").write_text((PROMETHEUS / "alerts.test.yml").read_text())
    tool = shutil.which("promtool")
    assert tool
    done = subprocess.run([tool, "test", "rules", "alerts.test.yml"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0 and "HelpdeskDeadLetters" in done.stdout + done.stderr
