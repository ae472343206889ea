#!/usr/bin/env bash
# `make run`, inside deploy/dev/with-stack.sh (which starts the stack and exports its URLs):
# migrate, print where everything is, then run every process of the Procfile under honcho.
# Ctrl-C stops them all.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

export PUBLIC_URL="${PUBLIC_URL:-http://127.0.0.1:8000}"
export SMTP_HOST="${SMTP_HOST:-127.0.0.1}"
export SMTP_PORT="${SMTP_PORT:-2525}"
export MAIL_DIR="${MAIL_DIR:-$ROOT/var/mail}"
export PYTHONUNBUFFERED=1    # honcho shows each line as it is printed
mkdir -p "$ROOT/var" "$MAIL_DIR"

# One `make run` at a time per checkout, and not while something else serves port 8000.
exec 8>"$ROOT/var/.run.lock"
flock -n 8 || { echo "run: another 'make run' is already running in $ROOT" >&2; exit 1; }
for port in 8000 "$SMTP_PORT" "${INBOUND_SMTP_PORT:-2526}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "run: port $port is already in use; stop what serves it first" >&2
        exit 1
    fi
done

.venv/bin/python -m helpdesk.migrate
.venv/bin/python -m services.identity.seed

mgmt="${RABBIT_MANAGEMENT_URL#*://}"; mgmt="${RABBIT_MANAGEMENT_URL%%://*}://${mgmt#*@}"
cat <<EOF2

  Helpdesk is starting (Ctrl-C stops everything):
    portal               http://127.0.0.1:8000/   (PUBLIC_URL in mails: ${PUBLIC_URL})
    API                  http://127.0.0.1:8000/api/v1/health
    RabbitMQ dashboard   ${mgmt}  (guest/guest)
    mail folder          ${MAIL_DIR#"$ROOT"/}/  (SMTP ${SMTP_HOST}:${SMTP_PORT})
    replies by email     SMTP 127.0.0.1:${INBOUND_SMTP_PORT:-2526}  (reply+<token>@${INBOUND_DOMAIN:-replies.helpdesk.local})
    PostgreSQL           ${DATABASE_URL}
    metrics              http://127.0.0.1:9101/metrics ... 9108 (one port per process: Procfile; docs/operations.md)

EOF2

# honcho keeps fd 8 (the run lock) open while it runs; its children do not inherit it.
exec .venv/bin/honcho start -f Procfile
