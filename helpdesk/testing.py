"""Helpers for tests and benchmarks: throwaway databases, schemas and RabbitMQ vhosts."""
import contextlib
import json
import queue
import socket
import threading
import time
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg2
import requests
from psycopg2 import sql

from .migrate import LIBRARY_SQL, migrate_schema


def wait_until(predicate, timeout=10.0, interval=0.02):
    """Polls `predicate` until it is truthy or `timeout` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def create_database(url, prefix="helpdesk_test"):
    """A new empty database on the server of `url`; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()
    return with_database(url, name)


def drop_database(admin_url, url):
    name = urlsplit(url).path.lstrip("/")
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    conn.close()


def create_schema(url, parts=("eventstore", "inbox"), prefix="t"):
    """A fresh schema holding the given library parts; returns its name."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    migrate_schema(url, schema, [(f"helpdesk.{p}", LIBRARY_SQL / p) for p in parts])
    return schema


class RabbitVhosts:
    """Creates and deletes isolated vhosts through the management API."""

    def __init__(self, amqp_uri, management_url):
        self.amqp_uri, self.management_url = amqp_uri, management_url
        parts = urlsplit(management_url)
        self.auth = (parts.username or "guest", parts.password or "guest")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.api = urlunsplit(parts._replace(netloc=netloc)).rstrip("/")

    def create(self, prefix="test"):
        vhost = f"{prefix}_{uuid.uuid4().hex[:10]}"
        user = urlsplit(self.amqp_uri).username or "guest"
        self._call("put", f"/api/vhosts/{quote(vhost)}")
        self._call("put", f"/api/permissions/{quote(vhost)}/{quote(user)}",
                   json={"configure": ".*", "write": ".*", "read": ".*"})
        parts = urlsplit(self.amqp_uri)
        return vhost, urlunsplit(parts._replace(path=f"/{quote(vhost)}"))

    def delete(self, vhost):
        self._call("delete", f"/api/vhosts/{quote(vhost)}", ok=(204, 404), timeout=120)  # a cluster's takes a while

    def queue_depth(self, vhost, queue):
        """Messages ready in `queue`, exact and immediate (a passive declare, not the management
        API's statistics, which lag by seconds)."""
        import kombu

        parts = urlsplit(self.amqp_uri)
        with kombu.Connection(urlunsplit(parts._replace(path=f"/{quote(vhost)}"))) as connection:
            return connection.default_channel.queue_declare(queue, passive=True).message_count

    def queue(self, vhost, queue):
        """What the management API says of a queue (its `type`, `arguments`, `durable`, ...)."""
        return self._call("get", f"/api/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}").json()

    def queues(self, vhost):
        return self._call("get", f"/api/queues/{quote(vhost, safe='')}").json()

    def _call(self, method, path, ok=(200, 201, 204), timeout=10, **kwargs):
        response = requests.request(method, self.api + path, auth=self.auth, timeout=timeout, **kwargs)
        if response.status_code not in ok:
            raise RuntimeError(f"{method.upper()} {path}: {response.status_code} {response.text}")
        return response


def bind_queue(amqp_uri, exchange, queue_name, routing_key="#"):
    """A durable queue bound to `exchange` (a kombu Exchange), for tests that watch what is published."""
    import kombu

    queue = kombu.Queue(queue_name, exchange=exchange, routing_key=routing_key, durable=True)
    with kombu.Connection(amqp_uri) as connection:
        queue(connection.channel()).declare()
    return queue


def drain(amqp_uri, queue_name, count, timeout=10.0):
    """Takes up to `count` messages' decoded bodies from `queue_name`, waiting at most `timeout`.
    The queue is not declared (it may be of any type, with any arguments): it must exist."""
    import kombu

    bodies = []
    deadline = time.monotonic() + timeout
    with kombu.Connection(amqp_uri) as connection:
        channel = connection.channel()
        while len(bodies) < count and time.monotonic() < deadline:
            message = channel.basic_get(queue_name, no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            bodies.append(json.loads(message.body))
    return bodies


# -- the whole system, as `make run` starts it (for end-to-end tests and benchmarks) -----------

LINK_SECRET = "test-link-secret-not-for-production"
FAKE_NOW = "2026-11-22T02:00:00+00:00"
SERVICE_CLASSES = {
    "gateway": "GatewayService", "identity": "IdentityService", "tickets": "TicketsService",
    "routing": "RoutingService", "sla": "SlaService", "notifier": "NotifierService", "content": "ContentService",
}
# More nameko services run in a service's process (as in the Procfile).
EXTRA_SERVICES = {"notifier": ["services.notifier.inbound_service:InboundMailService"]}
INBOUND_DOMAIN = "replies.helpdesk.local"
# the test system's stand-in for the provider's MTA: mails in tests say what it found
# (an `Authentication-Results: mx.test.helpdesk.local; dmarc=pass …` header)
TRUSTED_AUTHSERV_ID = "mx.test.helpdesk.local"
# The suite opens many tickets as one demo customer in one running system: limits out of its way
# (a test of the limits runs a system of its own with tight ones).
GENEROUS_LIMITS = {"OPENS_PER_ACCOUNT_HOUR": "100000", "OPENS_PER_COMPANY_HOUR": "100000",
                   "COMMENTS_PER_ACCOUNT_HOUR": "100000", "CC_ADDRESSES_PER_ACCOUNT_DAY": "100000"}


def api_request(ip, token=None, body=None, headers=None):
    """(headers, data) of a test client's API request: from the client address `ip` (through the
    trusted-proxy header), with a bearer token, and `body` as JSON unless it is bytes or str."""
    headers = dict(headers or {})
    headers["X-Forwarded-For"] = ip
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    return headers, data


def free_port(low=None, high=None):
    """A free TCP port on 127.0.0.1: any the system gives, or one in [low, high)."""
    import random
    import socket

    candidates = random.sample(range(low, high), high - low) if low is not None else [0]
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError(f"no free port in [{low}, {high})")


class RunningSystem:
    """Every service as a `nameko run` process plus the dev SMTP server and the inbound SMTP
    endpoint (`inbound_port`, mail for reply+…@`inbound_domain`), on a database and a vhost of
    its own. Each service process serves its metrics on a port of its own (`metrics_port(name)`,
    `metrics_url(name, path)`). Use as a context manager; `start()` waits until /api/v1/health
    answers 200 and the inbound endpoint takes connections."""

    def __init__(self, database_url, rabbit, workdir, extra_env=None, replicas=1, root=None):
        """`replicas`: how many processes of every service (the dev SMTP server stays one); with
        more than one, the gateways are reached through a LoadBalancer (`url`). `root`: the
        checkout whose services run (this one by default; `bench --against` runs an older one)."""
        from pathlib import Path

        self.root = Path(root) if root else Path(__file__).resolve().parent.parent
        self.replicas, self.balancer = replicas, None
        self.database_url, self.rabbit = database_url, rabbit
        self.amqp_uri = None
        self.named = {}
        self.workdir = Path(workdir)
        self.mail_dir, self.logs = self.workdir / "mail", self.workdir / "logs"
        self.extra_env = extra_env or {}
        self.processes = []
        self.inbound_port = None
        self.metrics_ports = {}  # service process name -> its METRICS_PORT
        self.inbound_domain = self.extra_env.get("INBOUND_DOMAIN", INBOUND_DOMAIN)
        self._mail_cache = {}  # mail file name -> (envelope recipient, parsed message)

    def url(self, path):
        return self.base_url + path

    def metrics_port(self, name):
        """The METRICS_PORT of the service process `name` (e.g. "tickets"; "notifier" also serves
        notifier_inbound's)."""
        return self.metrics_ports[name]

    def metrics_url(self, name, path="/metrics"):
        return f"http://127.0.0.1:{self.metrics_port(name)}{path}"

    def start(self, timeout=60):
        self.logs.mkdir(parents=True, exist_ok=True)
        self.vhost, amqp_uri = self.rabbit.create("system")
        self.amqp_uri = amqp_uri
        try:
            self._start(self.root, amqp_uri, timeout)
        except BaseException:
            self.stop()  # nothing left running, no vhost left behind
            raise
        return self

    def _start(self, root, amqp_uri, timeout):
        import os
        import sys
        from pathlib import Path

        from .migrate import declare_topology, migrate_all

        port, smtp_port, self.inbound_port = free_port(), free_port(), free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        # the second and further replicas' own ports: {process name: environment}
        self._own_env = {}
        for n in range(2, self.replicas + 1):
            self._own_env[f"gateway-{n}"] = {"WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}"}
            self._own_env[f"inbound-{n}"] = {"INBOUND_SMTP_PORT": str(free_port())}
        env = dict(
            os.environ,
            DATABASE_URL=self.database_url,
            AMQP_URI=amqp_uri,
            WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
            PUBLIC_URL=self.base_url,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(smtp_port),
            MAIL_DIR=str(self.mail_dir),
            CONSUMER_RETRY_DELAYS="[0.2, 0.5]",
            CONSUMER_GAP_TIMEOUT="1",
            LINK_SECRET=LINK_SECRET,
            TRUSTED_PROXIES="127.0.0.1",  # tests speak for many clients through X-Forwarded-For
            # A Sunday night in Madrid: 8x5 departments are closed, so routing assigns automatically
            # only in Soporte 24 Horas, whatever the real time of the run.
            FAKE_NOW=FAKE_NOW,
            **{**GENEROUS_LIMITS, **self.extra_env},
        )
        inbound = {"INBOUND_SMTP_HOST": "127.0.0.1", "INBOUND_SMTP_PORT": str(self.inbound_port),
                   "INBOUND_DOMAIN": self.inbound_domain, "INBOUND_TRUSTED_AUTHSERV_ID": TRUSTED_AUTHSERV_ID}
        env.update({name: value for name, value in inbound.items() if name not in self.extra_env})
        migrate_all(self.database_url)
        declare_topology(amqp_uri, [0.2, 0.5], kind=env.get("QUEUE_TYPE") or "classic")
        # the demo data, seeded as `make run` seeds it (the library imports no service)
        import subprocess

        seeded = subprocess.run([sys.executable, "-m", "services.identity.seed"], cwd=root, env=env,
                                capture_output=True, text=True, timeout=120)
        if seeded.returncode != 0:
            raise RuntimeError(f"seeding failed:\n{seeded.stdout}{seeded.stderr}")
        bin_dir = Path(sys.executable).parent
        commands = {"smtp": [sys.executable, "-m", "helpdesk.devsmtp"]}
        for name, cls in SERVICE_CLASSES.items():
            commands[name] = [str(bin_dir / "nameko"), "run", "--config", "config.yaml",
                              f"services.{name}.service:{cls}", *EXTRA_SERVICES.get(name, ())]
            self.metrics_ports[name] = free_port()
        # the inbound SMTP endpoint last: bench/system.py names the processes in this order
        commands["inbound"] = [sys.executable, "-m", "services.notifier.inbound"]
        self.metrics_ports["inbound"] = free_port()
        for n in range(2, self.replicas + 1):
            commands.update({f"{name}-{n}": command for name, command in list(commands.items())
                             if name != "smtp" and "-" not in name})
            self.metrics_ports.update({f"{name}-{n}": free_port() for name in (*SERVICE_CLASSES, "inbound")})
        self._launch = {"root": root, "env": env, "commands": commands}
        for name in commands:
            self._spawn(name, mode="w")
        if self.replicas > 1:
            gateways = [int(self._address_of(name).rsplit(":", 1)[1]) for name in commands if name.startswith("gateway")]
            self.balancer = LoadBalancer(self.workdir, {"web": ("http", gateways)}).start()
            self.base_url = f"http://127.0.0.1:{self.balancer.ports['web']}"
        if not wait_until(self._healthy, timeout=timeout, interval=0.3):
            raise RuntimeError("the system did not become healthy:\n" + self.log_tail())

    def _spawn(self, name, mode="a"):
        import subprocess

        log = open(self.logs / f"{name}.log", mode)
        env = self._launch["env"]
        if name in self.metrics_ports:
            env = dict(env, METRICS_PORT=str(self.metrics_ports[name]))
        process = subprocess.Popen(self._launch["commands"][name], cwd=self._launch["root"],
                                   env={**env, **self._own_env.get(name, {})},
                                   stdout=log, stderr=subprocess.STDOUT)
        self.named[name] = process
        self.processes.append(process)
        return process

    def _address_of(self, name):
        return self._own_env.get(name, {}).get("WEB_SERVER_ADDRESS") or self._launch["env"]["WEB_SERVER_ADDRESS"]

    def signal(self, name, signum):
        """Sends `signum` to one process of the system (e.g. SIGKILL it mid-work) and reaps it."""
        process = self.named[name]
        process.send_signal(signum)
        process.wait(timeout=10)
        self.processes.remove(process)

    def restart(self, name, timeout=60):
        """Starts one process again, as it was started, and waits until the system is healthy."""
        self._spawn(name)
        if not wait_until(self._healthy, timeout=timeout, interval=0.2):
            raise RuntimeError(f"{name} did not come back:\n" + self.log_tail())

    def _healthy(self):
        import socket

        if any(process.poll() is not None for process in self.processes):
            raise RuntimeError("a process of the system died:\n" + self.log_tail())
        try:
            if requests.get(self.url("/api/v1/health"), timeout=5).status_code != 200:
                return False
        except (requests.ConnectionError, requests.Timeout):  # down, or slow under load: not yet healthy
            return False
        try:
            socket.create_connection(("127.0.0.1", self.inbound_port), timeout=1).close()
        except OSError:
            return False
        return True

    def stop(self, grace=10):
        """SIGTERM to every process, SIGKILL to those still running `grace` seconds later (a
        thrown-away system need not wait for services still reconnecting to a killed node)."""
        import subprocess

        for process in self.processes:
            process.terminate()
        deadline = time.monotonic() + grace
        for process in self.processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes, self.named = [], {}
        if self.balancer is not None:
            self.balancer.stop()
            self.balancer = None
        if getattr(self, "vhost", None):
            self.rabbit.delete(self.vhost)
            self.vhost = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def mails(self):
        """Every mail received so far, oldest first, parsed. Each file is parsed once (the dev
        server writes it whole, by a rename): tests poll this, and a session's mail directory
        holds thousands of mails by its end."""
        return [message for _, message in self._parsed_mails()]

    def mails_to(self, address):
        return [message for recipient, message in self._parsed_mails() if recipient == address]

    def _parsed_mails(self):
        import email
        import email.policy

        cache = self._mail_cache
        names = sorted(path.name for path in self.mail_dir.glob("*.eml")) if self.mail_dir.is_dir() else []
        for name in names:
            if name not in cache:
                message = email.message_from_bytes((self.mail_dir / name).read_bytes(), policy=email.policy.default)
                cache[name] = (message["X-Envelope-To"], message)
        return [cache[name] for name in names]

    def log_tail(self, lines=40):
        out = []
        for path in sorted(self.logs.glob("*.log")):
            out.append(f"--- {path.name}")
            out += path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(out)


# -- servers of a test's own (for tests that stop and start PostgreSQL and RabbitMQ) -----------

def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True


class PrivateStack:
    """A PostgreSQL cluster and a RabbitMQ node of their own, under a fresh temporary directory
    on free ports: deploy/dev/stack.sh run with its STACK_* overrides, so they are set up exactly
    as `make run`'s (PostgreSQL as the OS user postgres, RabbitMQ with its management plugin).
    For tests that stop and start the servers, which the shared ones must never be.

        stack = PrivateStack().start()      # both servers
        stack.restart("rabbitmq")           # a real stop, then a start, of the server process
        stack.close()                       # stops both, deletes the directory
    """

    SCRIPT = "deploy/dev/stack.sh"

    def __init__(self, prefix="helpdesk-stack", cookie=None):
        import tempfile
        from pathlib import Path

        self.cookie = cookie  # nodes that form one cluster share it (RabbitCluster)
        self.root = Path(__file__).resolve().parent.parent
        self.var = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
        self.pg_port, self.rmq_port, self.mgmt_port = free_port(), free_port(), free_port()
        # RabbitMQ's CLI tools take the distribution port + 10000 for themselves: keep it low
        self.dist_port = free_port(20000, 30000)
        self.node = f"{prefix}-{uuid.uuid4().hex[:8]}@localhost"
        self.database_url = f"postgresql://postgres@127.0.0.1:{self.pg_port}/helpdesk"
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:{self.rmq_port}/"
        self.management_url = f"http://guest:guest@127.0.0.1:{self.mgmt_port}/"

    def _env(self):
        import os

        env = {name: value for name, value in os.environ.items()
               if name not in ("DATABASE_URL", "AMQP_URI", "RABBIT_MANAGEMENT_URL")}  # else stack.sh starts nothing
        env.update(STACK_VAR=str(self.var), STACK_PG_PORT=str(self.pg_port), STACK_RMQ_NODE=self.node,
                   STACK_RMQ_PORT=str(self.rmq_port), STACK_RMQ_DIST_PORT=str(self.dist_port),
                   STACK_RMQ_MGMT_PORT=str(self.mgmt_port))
        if self.cookie:
            env["STACK_RMQ_COOKIE"] = self.cookie
        return env

    def _run(self, command, *components, timeout=120):
        import subprocess

        done = subprocess.run([str(self.root / self.SCRIPT), command, *components], env=self._env(),
                              cwd=self.root, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"stack.sh {command} {' '.join(components)} failed ({done.returncode}):\n"
                               f"{done.stdout}{done.stderr}")
        return done.stderr

    def start(self, *components):
        """Starts the named servers ("postgres", "rabbitmq"), or both."""
        self._run("start", *components)
        return self

    def stop(self, *components):
        self._run("stop", *components)

    def restart(self, component):
        self.stop(component)
        self.start(component)

    def rabbit(self):
        return RabbitVhosts(self.amqp_uri, self.management_url)

    def rabbitmqctl(self, *args, timeout=120):
        return self._run("rabbitmqctl", *args, timeout=timeout)

    def kill_rabbitmq(self):
        """SIGKILL to the broker's Erlang VM, as a machine dying would (no goodbye to its peers)."""
        import os
        import signal

        pid = int((self.var / "rabbitmq" / "rabbitmq.pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not os.path.exists(f"/proc/{pid}") or _zombie(pid), timeout=10)

    def close(self):
        import shutil

        try:
            self.stop()
        finally:
            shutil.rmtree(self.var, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class EventStream:
    """A client of GET /api/v1/live: an open stream of server-sent events read by a thread of its
    own, over a plain socket (so that it can be cut from outside); its events arrive in `events`
    as (kind, data, monotonic time received). `user`: a test client (url via `.system`, `.token`,
    `.ip`)."""

    def __init__(self, user, query):
        self.events = queue.Queue()
        host, port = urlsplit(user.system.url("/")).netloc.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.sock.sendall((f"GET /api/v1/live?{query} HTTP/1.1\r\nHost: {host}\r\n"
                           f"Authorization: Bearer {user.token}\r\nX-Forwarded-For: {user.ip}\r\n"
                           "Accept: text/event-stream\r\n\r\n").encode())
        self.file = self.sock.makefile("rb")
        status = self.file.readline().decode()
        headers = {}
        while (line := self.file.readline().decode().strip()):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        assert " 200 " in status, status
        assert headers["content-type"].startswith("text/event-stream")
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        kind = None
        with contextlib.suppress(OSError, ValueError):  # cut by the test: the stream ends here
            for raw in self.file:  # chunked: each event is one chunk, its size lines skipped
                line = raw.decode().strip()
                if line.startswith("event: "):
                    kind = line[len("event: "):]
                elif line.startswith("data: ") and kind:
                    self.events.put((kind, json.loads(line[len("data: "):]), time.monotonic()))
                    kind = None
                elif line == "0":  # the last chunk: the stream ended
                    break
        self.events.put(("closed", None, time.monotonic()))

    def next(self, timeout=10):
        """(kind, data) of the next event."""
        return self.events.get(timeout=timeout)[:2]

    def until(self, wanted, timeout=10):
        """The first event `wanted(kind, data)` accepts, skipping others."""
        while True:
            kind, data = self.next(timeout)
            if wanted(kind, data) or kind == "closed":
                return kind, data

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def resident_bytes(pid):
    """The resident memory of a process now (Linux: /proc/<pid>/status, VmRSS)."""
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


class MemoryPeak:
    """The highest resident memory of some processes while the block runs, sampled every 20 ms:
    `growth()` is how far each rose above what it held before."""

    def __init__(self, pids, interval=0.02):
        import threading

        self.pids, self.interval = list(pids), interval
        self.before = {pid: resident_bytes(pid) for pid in self.pids}
        self.peak, self._done = dict(self.before), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._done.wait(self.interval):
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], resident_bytes(pid))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()

    def growth(self):
        return {pid: self.peak[pid] - self.before[pid] for pid in self.pids}


class RabbitCluster:
    """`size` RabbitMQ nodes of their own (PrivateStack, rabbitmq only) on loopback ports, joined
    into one cluster: the first node's peers join it. `uris` are the nodes' AMQP addresses;
    `rabbit()` manages vhosts through the first node's management API (vhosts, users and queue
    definitions are the cluster's). Kill a node with `nodes[i].kill_rabbitmq()`."""

    def __init__(self, size=3, prefix="helpdesk-cluster"):
        cookie = "".join(chr(ord("A") + b % 26) for b in uuid.uuid4().bytes + uuid.uuid4().bytes)[:24]
        self.nodes = [PrivateStack(prefix=f"{prefix}{n + 1}", cookie=cookie) for n in range(size)]

    def start(self):
        try:
            _each(lambda node: node.start("rabbitmq"), self.nodes)  # booting is the slow part: at once
            first = self.nodes[0]
            for node in self.nodes[1:]:
                node.rabbitmqctl("stop_app")
                node.rabbitmqctl("join_cluster", first.node)
                node.rabbitmqctl("start_app")
            wanted = sorted(node.node for node in self.nodes)
            if not wait_until(lambda: self.running_nodes() == wanted, timeout=30):
                raise RuntimeError(f"the nodes did not form one cluster: {self.running_nodes()} of {wanted}")
        except BaseException:
            self.close()
            raise
        return self

    @property
    def uris(self):
        return [node.amqp_uri for node in self.nodes]

    def running_nodes(self):
        """The node names the first node sees running."""
        import json as _json
        import subprocess

        first = self.nodes[0]
        done = subprocess.run([str(first.root / first.SCRIPT), "rabbitmqctl", "cluster_status", "--formatter", "json"],
                              env=first._env(), cwd=first.root, capture_output=True, text=True, timeout=60)
        return sorted(_json.loads(done.stdout)["running_nodes"]) if done.returncode == 0 else []

    def rabbit(self, amqp_uri=None):
        return RabbitVhosts(amqp_uri or self.nodes[0].amqp_uri, self.nodes[0].management_url)

    def close(self):
        """The cluster is thrown away: its nodes are killed, not stopped (a clean stop of three
        nodes takes half a minute), and their directories deleted."""
        import shutil

        def discard(node):
            with contextlib.suppress(OSError, ValueError):  # never started, or killed already
                node.kill_rabbitmq()
            node._run("stop", "rabbitmq")  # epmd's registration and the pid file
            shutil.rmtree(node.var, ignore_errors=True)
        _each(discard, self.nodes)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


def _each(action, items):
    """`action(item)` for every item at once (threads); the first error is raised after all end."""
    errors = []

    def run(item):
        try:
            action(item)
        except BaseException as exc:  # noqa: BLE001 (raised below)
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


class LoadBalancer:
    """Debian's haproxy in front of servers, as in production: `tcp` frontends (AMQP to the
    broker nodes) and `http` ones (the gateways, each checked with GET /api/v1/site), each on a
    free loopback port. A server that dies is taken out within a second; clients reconnect
    through the same address.

        balancer = LoadBalancer(workdir, {"amqp": ("tcp", [5672, 5673]), "web": ("http", [8001, 8002])})
        balancer.start(); balancer.ports["amqp"]
    """

    HAPROXY = "/usr/sbin/haproxy"

    def __init__(self, workdir, frontends):
        from pathlib import Path

        self.workdir, self.frontends = Path(workdir), frontends
        self.ports = {name: free_port() for name in frontends}
        self.process = None

    def config(self):
        lines = ["global", "    maxconn 4096", "defaults", "    timeout connect 2s", "    timeout client 10m",
                 "    timeout server 10m", "    timeout check 1s", "    retries 3", "    option redispatch"]
        for name, (mode, ports) in self.frontends.items():
            lines += [f"listen {name}", f"    bind 127.0.0.1:{self.ports[name]}", f"    mode {mode}",
                      "    balance roundrobin" if mode == "http" else "    balance leastconn"]
            if mode == "http":
                lines += ["    option httpchk GET /api/v1/site", "    http-check expect status 200",
                          "    option forwardfor", "    timeout http-keep-alive 10s"]
            lines += [f"    server {name}{n} 127.0.0.1:{port} check inter 300 fall 2 rise 2"
                      + (" on-marked-down shutdown-sessions" if mode == "tcp" else "")
                      for n, port in enumerate(ports, 1)]
        return "\n".join(lines) + "\n"

    def start(self, timeout=10):
        import subprocess

        path = self.workdir / "haproxy.cfg"
        path.write_text(self.config())
        log = open(self.workdir / "haproxy.log", "w")
        self.process = subprocess.Popen([self.HAPROXY, "-db", "-f", str(path)], stdout=log, stderr=subprocess.STDOUT)

        def listening():
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited:\n{(self.workdir / 'haproxy.log').read_text()}")
            return all(_port_open(port) for port in self.ports.values())
        if not wait_until(listening, timeout=timeout, interval=0.1):
            raise RuntimeError("haproxy did not listen")
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def _port_open(port):
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0
