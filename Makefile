# Helpdesk: set up and run everything from a fresh clone (Debian 12, as root).
#   make run     install what is missing, start private PostgreSQL + RabbitMQ under var/,
#                migrate, run every service (Procfile); Ctrl-C stops all it started
#   make test    the same set-up, then the whole test suite (extra args: PYTEST_ARGS='-x -k foo');
#                make test-cluster: the cluster test alone
#   make stop    stop the private PostgreSQL and RabbitMQ;   make clean: stop and delete var/
# Set DATABASE_URL and/or AMQP_URI to use your own servers instead of the private ones.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

STACK      := deploy/dev/stack.sh
WITH_STACK := deploy/dev/with-stack.sh
PYTHON     := .venv/bin/python
# Exports DATABASE_URL, AMQP_URI and RABBIT_MANAGEMENT_URL into a recipe's shell.
STACK_ENV  := eval "$$($(STACK) env)"
PYTEST_ARGS ?=

.PHONY: help install stack migrate run test test-cluster screenshots bench bench-peer stop status clean

help:
	@sed -n '2,6p' Makefile | sed 's/^# \{0,1\}//'

install:
	deploy/dev/install.sh

stack: install
	$(STACK) start

migrate: stack
	$(STACK_ENV) && $(PYTHON) -m helpdesk.migrate

# with-stack starts the stack, and stops on exit only the parts that this run started;
# run.sh migrates, prints the URLs and runs honcho.
run: install
	$(WITH_STACK) deploy/dev/run.sh

test: install
	$(WITH_STACK) $(PYTHON) -m pytest $(PYTEST_ARGS)

# The cluster test alone (tests/cluster, also part of `make test`): three RabbitMQ nodes of its own
# behind haproxy, two replicas of every service, a broker node and a replica of each killed under load.
test-cluster: install
	$(WITH_STACK) $(PYTHON) -m pytest -m cluster tests/cluster $(PYTEST_ARGS)

# The portal's pictures in docs/portal/ (docs/portal.md), taken by its browser tests.
screenshots: install
	$(WITH_STACK) env PORTAL_SCREENSHOTS=$(CURDIR)/docs/portal $(PYTHON) -m pytest tests/e2e/portal -q

bench: migrate
	$(STACK_ENV) && $(PYTHON) -m bench

# Ours and django-helpdesk side by side (docs/performance.md); installs it under var/peers/ first.
# BENCH_PEER_ARGS='--quick --clients 2' for a short run.
BENCH_PEER_ARGS ?=
bench-peer: migrate
	$(STACK_ENV) && $(PYTHON) -m bench --peer django-helpdesk $(BENCH_PEER_ARGS)

stop:
	$(STACK) stop

status:
	$(STACK) status

clean: stop
	rm -rf var
