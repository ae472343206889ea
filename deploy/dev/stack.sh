#!/usr/bin/env bash
# Private development stack for the helpdesk: PostgreSQL and RabbitMQ running from this checkout's
# var/ folder, on their own ports, next to (never instead of) any system-wide instances.
#
#   deploy/dev/stack.sh start  [postgres|rabbitmq ...]   start what is not running (idempotent)
#   deploy/dev/stack.sh stop   [postgres|rabbitmq ...]   stop what runs from var/ (idempotent)
#   deploy/dev/stack.sh status                           show what runs; exit 0 when all is up
#   deploy/dev/stack.sh env                              print `export` lines for the services
#   deploy/dev/stack.sh running postgres|rabbitmq        exit 0 when that private server runs
#   deploy/dev/stack.sh rabbitmqctl ARG...               rabbitmqctl against the private node
#
#   PostgreSQL  127.0.0.1:54329, user postgres (trust), database helpdesk; data var/pg/data,
#               log var/pg/log; runs as the OS user `postgres` (never as root); no unix socket.
#   RabbitMQ    node helpdesk@localhost, AMQP 127.0.0.1:56729, management 127.0.0.1:15679
#               (guest/guest), distribution 127.0.0.1:25679; everything under var/rabbitmq/.
#
# With DATABASE_URL set, `start` leaves PostgreSQL alone and `env` passes the URL on; the same for
# AMQP_URI and RabbitMQ. `stop` always stops only the servers that run from var/.
#
# A second, separate stack (e.g. a fault test that restarts its servers) sets where and on which
# ports: STACK_VAR (instead of var/), STACK_PG_PORT, STACK_RMQ_NODE, STACK_RMQ_PORT,
# STACK_RMQ_DIST_PORT, STACK_RMQ_MGMT_PORT. Unset, everything is as described above. Nodes that
# are to form one cluster (tests/cluster) share an Erlang cookie: STACK_RMQ_COOKIE (A-Z, 20+).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VAR="${STACK_VAR:-$ROOT/var}"

PG_PORT="${STACK_PG_PORT:-54329}"
PG_DIR="$VAR/pg"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/log"
PG_DB=helpdesk

RMQ_NODE="${STACK_RMQ_NODE:-helpdesk@localhost}"
RMQ_PORT="${STACK_RMQ_PORT:-56729}"
RMQ_DIST_PORT="${STACK_RMQ_DIST_PORT:-25679}"
RMQ_MGMT_PORT="${STACK_RMQ_MGMT_PORT:-15679}"
RMQ_DIR="$VAR/rabbitmq"
RMQ_HOME="$RMQ_DIR/home"
RMQ_PID="$RMQ_DIR/rabbitmq.pid"
RMQ_BIN=/usr/lib/rabbitmq/bin

DEFAULT_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/$PG_DB"
DEFAULT_AMQP_URI="amqp://guest:guest@127.0.0.1:$RMQ_PORT/"
DEFAULT_MANAGEMENT_URL="http://guest:guest@127.0.0.1:$RMQ_MGMT_PORT/"

# A clean environment for the servers and their tools, so that nothing from the caller's
# (PG*, RABBITMQ_*, ERL_FLAGS, ...) leaks in.
BASE_ENV=(env -i "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" LANG=C.UTF-8 LC_ALL=C.UTF-8)

log() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }
# Milliseconds since the epoch, and "1.2 s" since a given one (bash 5, no bc needed).
now_ms() { local t="${EPOCHREALTIME/[.,]/}"; echo "${t:0:-3}"; }
since() { local ms=$(($(now_ms) - $1)); printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100)); }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wants_postgres() { [[ -z "${DATABASE_URL:-}" ]]; }
wants_rabbitmq() { [[ -z "${AMQP_URI:-}" ]]; }

ensure_var() {
    if [[ ! -d "$VAR" ]]; then
        mkdir -p "$VAR"
    fi
    # Whatever the umask was: others (the postgres user) must be able to traverse var/.
    chmod 755 "$VAR"
}

# Serialise concurrent start/stop calls (make run and make test side by side, say). Every server
# and tool is run with fd 9 closed (as_pg, as_rmq), or a daemon would hold the lock forever.
take_lock() {
    ensure_var
    exec 9>"$VAR/.stack.lock"
    flock -w 120 9 || die "another stack.sh holds $VAR/.stack.lock"
}

# ------------------------------------------------------------------------------------ PostgreSQL

pg_bin() {
    local bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    [[ -n "$bin" && -x "$bin/initdb" ]] || die "PostgreSQL server not installed (run deploy/dev/install.sh)"
    echo "$bin"
}

# Run a PostgreSQL program as the postgres OS user (as ourselves when not root), from /, in a
# clean environment.
as_pg() {
    if [[ $EUID -eq 0 ]]; then
        (cd / && runuser -u postgres -- "${BASE_ENV[@]}" "$@" 9>&-)
    else
        (cd / && "${BASE_ENV[@]}" "$@" 9>&-)
    fi
}

# The checkout may live under a directory the postgres user cannot enter (/root is 0700): grant
# traverse-only permission (o+x, no listing) on each blocking ancestor, and say so.
ensure_pg_can_traverse() {
    [[ $EUID -eq 0 ]] || return 0
    runuser -u postgres -- test -x "$VAR" 2>/dev/null && return 0
    local dir="$VAR" blocked=()
    while [[ "$dir" != "/" ]]; do
        if ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then blocked+=("$dir"); fi
        dir="$(dirname "$dir")"
    done
    local d
    for d in "${blocked[@]}"; do
        if [[ $(stat -c %a "$d") != *[1357] ]]; then
            log "granting traverse permission (o+x) on $d so that the postgres user can reach var/pg"
            chmod o+x "$d"
        fi
    done
    runuser -u postgres -- test -x "$VAR" \
        || die "the postgres user cannot reach $VAR; move the checkout or fix its permissions"
}

pg_running() {
    [[ -f "$PG_DATA/postmaster.pid" ]] || return 1
    as_pg "$(pg_bin)/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
}

pg_init() {
    local bin="$1"
    mkdir -p "$PG_DIR"
    chmod 700 "$PG_DIR"
    if [[ $EUID -eq 0 ]]; then chown postgres:postgres "$PG_DIR"; fi
    log "initdb $PG_DATA"
    rm -rf "$PG_DATA"
    as_pg "$bin/initdb" -D "$PG_DATA" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    as_pg sh -c "cat >> '$PG_DATA/postgresql.conf'" <<EOF

# --- helpdesk development stack (deploy/dev/stack.sh) ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''	# TCP only: no socket path to collide or grow too long
max_connections = 200		# six services with per-worker pools, plus tests
EOF
}

pg_start() {
    local bin t0
    bin="$(pg_bin)"
    ensure_pg_can_traverse
    if pg_running; then
        log "postgres already running (127.0.0.1:$PG_PORT, $PG_DATA)"
        return 0
    fi
    t0=$(now_ms)
    if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
        pg_init "$bin"
    fi
    local have want
    have="$(cat "$PG_DATA/PG_VERSION")"
    want="$(basename "$(dirname "$bin")")"
    [[ "$have" == "$want" ]] \
        || die "$PG_DATA was made by PostgreSQL $have but $want is installed; run 'make clean' (drops the dev data)"
    if port_open "$PG_PORT"; then
        die "port $PG_PORT is taken by another program; stop it or set DATABASE_URL"
    fi
    if [[ $EUID -eq 0 ]]; then touch "$PG_LOG" && chown postgres:postgres "$PG_LOG"; fi
    if ! as_pg "$bin/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -s; then
        tail -n 20 "$PG_LOG" >&2 || true
        die "PostgreSQL did not start (log: $PG_LOG)"
    fi
    if [[ -z "$(as_pg "$bin/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
            "select 1 from pg_database where datname = '$PG_DB'")" ]]; then
        as_pg "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$PG_DB"
        log "created database $PG_DB"
    fi
    log "postgres up on 127.0.0.1:$PG_PORT in $(since "$t0")"
}

pg_stop() {
    if ! pg_running; then
        log "postgres not running"
        return 0
    fi
    as_pg "$(pg_bin)/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 -s
    log "postgres stopped"
}

# -------------------------------------------------------------------------------------- RabbitMQ

# The server and its CLI tools read everything from these variables: nothing from /etc/rabbitmq,
# /var/lib/rabbitmq or the caller's HOME (the Erlang cookie lives in var/rabbitmq/home).
RMQ_ENV=(
    "HOME=$RMQ_HOME"
    "RABBITMQ_NODENAME=$RMQ_NODE"
    "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1"
    "RABBITMQ_NODE_PORT=$RMQ_PORT"
    "RABBITMQ_DIST_PORT=$RMQ_DIST_PORT"
    "RABBITMQ_CONF_ENV_FILE=$RMQ_DIR/rabbitmq-env.conf"
    "RABBITMQ_CONFIG_FILE=$RMQ_DIR/rabbitmq.conf"
    "RABBITMQ_ADVANCED_CONFIG_FILE=$RMQ_DIR/advanced.config"
    "RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ_DIR/enabled_plugins"
    "RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia"
    "RABBITMQ_LOG_BASE=$RMQ_DIR/log"
    "RABBITMQ_PID_FILE=$RMQ_PID"
    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
    "ERL_EPMD_ADDRESS=127.0.0.1"
)

as_rmq() { (cd "$RMQ_DIR" && "${BASE_ENV[@]}" "${RMQ_ENV[@]}" "$@" 9>&-); }
rmqctl() { as_rmq "$RMQ_BIN/rabbitmqctl" -n "$RMQ_NODE" "$@"; }

rmq_pid() {
    local pid
    [[ -f "$RMQ_PID" ]] || return 1
    pid="$(tr -dc '0-9' <"$RMQ_PID")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    # The pid must be our Erlang VM (its -home is our private HOME), not a recycled pid.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-home $RMQ_HOME " || return 1
    echo "$pid"
}

rmq_running() { rmq_pid >/dev/null && port_open "$RMQ_PORT"; }

rmq_write_config() {
    mkdir -p "$RMQ_DIR" "$RMQ_HOME" "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
    chmod 700 "$RMQ_HOME"
    if [[ ! -s "$RMQ_HOME/.erlang.cookie" ]]; then
        local cookie="${STACK_RMQ_COOKIE:-}"
        while ((${#cookie} < 20)); do cookie+="$(head -c 512 /dev/urandom | LC_ALL=C tr -dc 'A-Z')"; done
        (umask 077 && printf '%s' "${cookie:0:20}" >"$RMQ_HOME/.erlang.cookie")
        chmod 400 "$RMQ_HOME/.erlang.cookie"
    fi
    echo '# empty on purpose: keeps /etc/rabbitmq/rabbitmq-env.conf out (deploy/dev/stack.sh)' \
        >"$RMQ_DIR/rabbitmq-env.conf"
    echo '[rabbitmq_management].' >"$RMQ_DIR/enabled_plugins"
    cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
# Written by deploy/dev/stack.sh on every start; edit that script instead.
listeners.tcp.default = 127.0.0.1:$RMQ_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $RMQ_MGMT_PORT
EOF
}

rmq_start() {
    [[ -x "$RMQ_BIN/rabbitmq-server" ]] || die "RabbitMQ not installed (run deploy/dev/install.sh)"
    if rmq_running; then
        log "rabbitmq already running (node $RMQ_NODE, 127.0.0.1:$RMQ_PORT)"
        return 0
    fi
    local t0 p
    t0=$(now_ms)
    if rmq_pid >/dev/null; then
        log "rabbitmq node is up but not listening yet; waiting"
    else
        for p in "$RMQ_PORT" "$RMQ_MGMT_PORT" "$RMQ_DIST_PORT"; do
            port_open "$p" && die "port $p is taken by another program; stop it or set AMQP_URI"
        done
        rmq_write_config
        rm -f "$RMQ_PID"
        # -detached daemonises (own session), so Ctrl-C in a terminal does not reach the broker;
        # its own output goes to a file so that no caller's pipe is held open.
        as_rmq setsid "$RMQ_BIN/rabbitmq-server" -detached \
            </dev/null >>"$RMQ_DIR/log/startup.log" 2>&1 \
            || die "rabbitmq-server failed to launch (see $RMQ_DIR/log/)"
    fi
    # await_startup needs the node registered with epmd: wait for its pid file and its
    # distribution port first, then let the CLI wait for the broker to finish booting.
    local i
    for ((i = 0; i < 600; i++)); do
        rmq_pid >/dev/null && port_open "$RMQ_DIST_PORT" && break
        sleep 0.1
    done
    if ! rmq_pid >/dev/null || ! rmqctl await_startup --timeout 60 >/dev/null 2>"$RMQ_DIR/log/await.log"; then
        cat "$RMQ_DIR/log/await.log" >&2 || true
        tail -n 20 "$RMQ_DIR/log/$RMQ_NODE.log" >&2 2>/dev/null || true
        die "RabbitMQ did not start (logs: $RMQ_DIR/log/)"
    fi
    log "rabbitmq up on 127.0.0.1:$RMQ_PORT (management http://127.0.0.1:$RMQ_MGMT_PORT/) in $(since "$t0")"
}

rmq_stop() {
    local pid i
    if ! pid="$(rmq_pid)"; then
        log "rabbitmq not running"
        rm -f "$RMQ_PID"
        return 0
    fi
    if ! rmqctl stop "$RMQ_PID" >/dev/null 2>&1; then
        log "rabbitmqctl stop failed; sending SIGTERM to $pid"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 300; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$RMQ_PID"
    log "rabbitmq stopped"
}

# ------------------------------------------------------------------------------------- commands

# Single-quote a value for the shell.
sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# http://user:pass@host:15672/ from an amqp(s):// URI, keeping its credentials (guest:guest if none);
# https for amqps.
management_url_for() {
    local rest="${1#*://}" auth="guest:guest" hostport host scheme=http
    [[ "$1" == amqps://* ]] && scheme=https
    rest="${rest%%/*}"; rest="${rest%%\?*}"
    if [[ "$rest" == *@* ]]; then auth="${rest%@*}"; hostport="${rest##*@}"; else hostport="$rest"; fi
    [[ "$auth" == *:* ]] || auth="$auth:"
    if [[ "$hostport" == \[* ]]; then host="${hostport%%]*}]"; else host="${hostport%%:*}"; fi
    [[ -n "$host" ]] || host=localhost
    printf '%s://%s@%s:15672/' "$scheme" "$auth" "$host"
}

cmd_env() {
    local db="${DATABASE_URL:-$DEFAULT_DATABASE_URL}" amqp="${AMQP_URI:-$DEFAULT_AMQP_URI}" mgmt
    if [[ -n "${RABBIT_MANAGEMENT_URL:-}" ]]; then
        mgmt="$RABBIT_MANAGEMENT_URL"
    elif [[ -n "${AMQP_URI:-}" ]]; then
        mgmt="$(management_url_for "$AMQP_URI")"
    else
        mgmt="$DEFAULT_MANAGEMENT_URL"
    fi
    echo "export DATABASE_URL=$(sq "$db")"
    echo "export AMQP_URI=$(sq "$amqp")"
    echo "export RABBIT_MANAGEMENT_URL=$(sq "$mgmt")"
}

# Components named on the command line, or all of them.
components() {
    local c
    if (($# == 0)); then echo postgres rabbitmq; return; fi
    for c in "$@"; do
        case "$c" in
            postgres | pg | postgresql) echo postgres ;;
            rabbitmq | rabbit | rmq) echo rabbitmq ;;
            *) die "unknown component '$c' (postgres, rabbitmq)" ;;
        esac
    done
}

cmd_start() {
    local c
    take_lock
    for c in $(components "$@"); do
        case "$c" in
            postgres) if wants_postgres; then pg_start; else log "DATABASE_URL is set: not starting PostgreSQL"; fi ;;
            rabbitmq) if wants_rabbitmq; then rmq_start; else log "AMQP_URI is set: not starting RabbitMQ"; fi ;;
        esac
    done
}

cmd_stop() {
    local c
    [[ -d "$VAR" ]] || { log "nothing to stop (no $VAR)"; return 0; }
    take_lock
    # RabbitMQ first: services lose their broker before their database.
    for c in $(components "$@" | tr ' ' '\n' | sort -r); do
        case "$c" in
            postgres) pg_stop ;;
            rabbitmq) rmq_stop ;;
        esac
    done
}

cmd_status() {
    local rc=0
    if ! wants_postgres; then
        echo "postgres: external (DATABASE_URL)"
    elif pg_running; then
        echo "postgres: running  $DEFAULT_DATABASE_URL  (data $PG_DATA, log $PG_LOG)"
    else
        echo "postgres: stopped"; rc=3
    fi
    if ! wants_rabbitmq; then
        echo "rabbitmq: external (AMQP_URI)"
    elif rmq_running; then
        echo "rabbitmq: running  $DEFAULT_AMQP_URI  node $RMQ_NODE pid $(rmq_pid), dashboard http://127.0.0.1:$RMQ_MGMT_PORT/ (guest/guest)"
    else
        echo "rabbitmq: stopped"; rc=3
    fi
    return $rc
}

cmd_running() {
    (($# == 1)) || die "usage: $0 running postgres|rabbitmq"
    case "$(components "$1")" in
        postgres) pg_running ;;
        rabbitmq) rmq_running ;;
    esac
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

main() {
    (($# >= 1)) || usage
    local cmd="$1"; shift
    case "$cmd" in
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        status) cmd_status ;;
        env) cmd_env ;;
        running) cmd_running "$@" ;;
        rabbitmqctl) rmqctl "$@" ;;
        -h | --help | help) usage ;;
        *) usage ;;
    esac
}

main "$@"
