#!/usr/bin/env bash
# Install what `make run` / `make test` need on Debian 12, only what is missing:
#   - PostgreSQL, RabbitMQ, python3-venv, Chromium (browser tests), kubectl and docker-compose
#     (tests/unit/test_deploy.py), haproxy (tests/cluster) and Prometheus (its promtool checks
#     and unit-tests deploy/prometheus/alerts.yml) from apt (only when not present: a machine
#     that has them does no apt work at all);
#   - the project's virtualenv in .venv with `pip install -e '.[test]'` (every package pinned by
#     constraints.txt), re-run only when pyproject.toml or constraints.txt is newer than the
#     stamp .venv/.installed.
# Safe to run again; works without a TTY (CI=true).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

log() { printf 'install: %s\n' "$*" >&2; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }

# The interpreter for the venv: $PYTHON if given, else python3.11 (the project pins 3.11), else python3.
pick_python() {
    if [[ -n "${PYTHON:-}" ]]; then echo "$PYTHON"; return; fi
    local p
    for p in python3.11 python3; do
        if command -v "$p" >/dev/null 2>&1; then command -v "$p"; return; fi
    done
    echo /usr/bin/python3
}

# --- system packages --------------------------------------------------------------------------
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
if ! ls -d /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
    missing+=(postgresql)
fi
if [[ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]; then
    missing+=(rabbitmq-server)
fi
# Debian's Chromium for the browser tests (tests/e2e/portal): Playwright drives it by path,
# Playwright's own browser download is never used.
if [[ ! -x /usr/bin/chromium ]]; then
    missing+=(chromium)
fi
# tests/unit/test_deploy.py renders deploy/k8s with `kubectl kustomize` (Debian's kubectl 1.20
# embeds kustomize v2.0.3; any newer kubectl already on the machine does too) and resolves
# docker-compose.yml with Debian's docker-compose 1.29; neither needs a cluster or an engine.
if ! command -v kubectl >/dev/null 2>&1; then
    missing+=(kubernetes-client)
fi
if ! command -v docker-compose >/dev/null 2>&1; then
    missing+=(docker-compose)
fi
# The cluster test (tests/cluster) puts Debian's haproxy in front of its three RabbitMQ nodes
# and its two gateways, as a load balancer would in production.
if [[ ! -x /usr/sbin/haproxy ]]; then
    missing+=(haproxy)
fi
# promtool, from Debian's Prometheus, for tests/unit/test_monitoring.py (the alert rules).
if ! command -v promtool >/dev/null 2>&1; then
    missing+=(prometheus)
fi
PY="$(pick_python)"
if ! command -v "$PY" >/dev/null 2>&1; then
    missing+=(python3 python3-venv)
    PY=/usr/bin/python3
elif ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    # Debian's python3 lacks ensurepip until python3-venv is installed.
    pkg_installed python3-venv || missing+=(python3-venv)
fi

if ((${#missing[@]})); then
    [[ $EUID -eq 0 ]] || die "missing packages: ${missing[*]}; run as root or install them: apt-get install ${missing[*]}"
    command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get on this machine"
    log "installing from apt: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
    # Note: Debian starts a system RabbitMQ/PostgreSQL (and Prometheus, on 9090) after install
    # where systemd runs. That is harmless: ours run under var/ with their own node name and
    # ports (see deploy/dev/stack.sh); nothing here uses a system Prometheus.
fi

# --- virtualenv -------------------------------------------------------------------------------
VENV="$ROOT/.venv"
STAMP="$VENV/.installed"

if [[ -d "$VENV" ]] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "removing broken virtualenv $VENV"
    rm -rf "$VENV"
fi
if [[ ! -d "$VENV" ]]; then
    "$PY" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' \
        || log "warning: $PY is not Python 3.11; pyproject.toml requires 3.11 (set PYTHON=...)"
    log "creating virtualenv with $PY"
    "$PY" -m venv "$VENV"
fi

if [[ ! -f "$STAMP" || "$ROOT/pyproject.toml" -nt "$STAMP" || "$ROOT/constraints.txt" -nt "$STAMP" ]]; then
    log "pip install -e '.[test]' -c constraints.txt"
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
    "$VENV/bin/python" -m pip install -q -c "$ROOT/constraints.txt" -e "$ROOT[test]"
    touch "$STAMP"
else
    log "virtualenv up to date ($STAMP newer than pyproject.toml)"
fi
