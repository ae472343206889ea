"""Recommended downloads of 50 MB (issue 13): `python -m bench --only downloads`.

A staff member uploads one file of FILE_BYTES (the default limit) as the portal does, one PUT of
the raw body; then it is fetched whole by one client, and by CLIENTS at once. Printed: the
seconds and MB/s of each, and how far the gateway's and the content service's resident memory
rose above what they held before (sampled every 20 ms): a file crosses them piece by piece
(DOWNLOAD_PIECE_BYTES), so that is a few pieces whatever the file's size.
"""
import hashlib
import os
import tempfile
import threading
import time

import requests

from helpdesk import contracts
from helpdesk.testing import MemoryPeak

from .measure import print_table, running_system

FILE_BYTES = 50 * 2**20
CLIENTS = 4
STAFF = "agent-networks@helpdesk.example"


def _file(directory, size):
    path = os.path.join(directory, "firmware.bin")
    digest = hashlib.sha256()
    with open(path, "wb") as file:
        left = size
        while left:
            piece = os.urandom(min(left, 2**20))
            file.write(piece)
            digest.update(piece)
            left -= len(piece)
    return path, digest.hexdigest()


def _fetch(url, sha256):
    digest, size = hashlib.sha256(), 0
    with requests.get(url, stream=True, timeout=300) as answer:
        answer.raise_for_status()
        for piece in answer.iter_content(256 * 1024):
            digest.update(piece)
            size += len(piece)
    assert digest.hexdigest() == sha256, "the bytes fetched are not the file's"
    return size


def run(database_url, rabbit, size=FILE_BYTES, clients=CLIENTS):
    from services.identity.seed import DEMO_PASSWORD

    with running_system(database_url, rabbit) as system, tempfile.TemporaryDirectory() as directory:
        pids = {name: system.named[name].pid for name in ("gateway", "content")}
        staff = requests.Session()
        login = staff.post(system.url("/api/v1/auth/login"), json={"email": STAFF, "password": DEMO_PASSWORD},
                           timeout=30)
        login.raise_for_status()
        staff.headers["Authorization"] = f"Bearer {login.json()['token']}"
        download = staff.post(system.url("/api/v1/downloads"), json={
            "title": {"es": "Firmware"}, "category": "firmware"}, timeout=30).json()
        path, sha256 = _file(directory, size)
        rows = []

        with MemoryPeak(pids.values()) as memory, open(path, "rb") as body:
            began = time.perf_counter()
            uploaded = staff.put(system.url(f"/api/v1/downloads/{download['id']}/file"), params={"name": "firmware.bin"},
                                 data=body, headers={"Content-Type": "application/octet-stream"}, timeout=600)
            seconds = time.perf_counter() - began
        uploaded.raise_for_status()
        assert uploaded.json()["file"]["sha256"] == sha256
        rows.append(_row("upload (one PUT)", size, seconds, memory, pids))
        staff.post(system.url(f"/api/v1/downloads/{download['id']}/publish"), timeout=30).raise_for_status()
        url = system.url(f"/api/v1/downloads/{download['id']}/file")

        with MemoryPeak(pids.values()) as memory:
            began = time.perf_counter()
            _fetch(url, sha256)
            rows.append(_row("fetch, one client", size, time.perf_counter() - began, memory, pids))

        with MemoryPeak(pids.values()) as memory:
            threads = [threading.Thread(target=_fetch, args=(url, sha256)) for _ in range(clients)]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            rows.append(_row(f"fetch, {clients} clients at once", size * clients, time.perf_counter() - began,
                             memory, pids))

    print_table(f"Downloads: a file of {size / 2**20:.0f} MB in pieces of {contracts.DOWNLOAD_PIECE_BYTES // 1024} KiB",
                ["", "MB", "s", "MB/s", "gateway +MB", "content +MB"], rows)


def _row(what, size, seconds, memory, pids):
    growth = memory.growth()
    return [what, size / 2**20, seconds, size / 2**20 / seconds,
            growth[pids["gateway"]] / 2**20, growth[pids["content"]] / 2**20]
