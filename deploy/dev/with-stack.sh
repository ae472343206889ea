#!/usr/bin/env bash
# Run one command with the private stack up and its environment exported (DATABASE_URL, AMQP_URI,
# RABBIT_MANAGEMENT_URL), then stop the parts of the stack that this call started, and only those.
# The command's exit code is ours. Used by `make run` and `make test`.
#
#   deploy/dev/with-stack.sh COMMAND [ARG...]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK="$ROOT/deploy/dev/stack.sh"
(($# >= 1)) || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }

# What is ours to stop afterwards: the private servers wanted here that are not running yet.
started=()
[[ -n "${DATABASE_URL:-}" ]] || "$STACK" running postgres || started+=(postgres)
[[ -n "${AMQP_URI:-}" ]] || "$STACK" running rabbitmq || started+=(rabbitmq)

cleanup() {
    local rc=$?
    trap '' INT TERM HUP    # a second Ctrl-C must not leave the stack half stopped
    if ((${#started[@]})); then
        echo "with-stack: stopping what this run started: ${started[*]}" >&2
        "$STACK" stop "${started[@]}" || true
    fi
    exit "$rc"
}
trap cleanup EXIT

"$STACK" start
eval "$("$STACK" env)"

# The command runs as a background job so that this shell can react to signals while it runs
# (bash defers traps while a foreground child runs). It stays in the terminal's process group,
# so Ctrl-C reaches it directly; SIGINT is re-enabled for it (background jobs ignore it) and its
# standard input is the terminal's, not /dev/null. TERM/HUP sent to us are forwarded.
exec 3<&0
( trap - INT QUIT; exec "$@" <&3 3<&- ) &
child=$!
exec 3<&-
trap ':' INT    # Ctrl-C: the child got it too; wait for it to finish, then clean up
trap 'kill -TERM "$child" 2>/dev/null || true' TERM HUP

set +e
while kill -0 "$child" 2>/dev/null; do
    wait "$child"
done
wait "$child"
rc=$?
set -e
exit "$rc"
