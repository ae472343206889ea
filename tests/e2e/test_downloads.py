"""A recommended download of 50 MB through the real processes: uploaded to the gateway as one
body, kept by the content service in pieces, fetched back streamed, resumed with a Range, with
the memory of the gateway and of the content service measured all along (constant: a small part
of the file, never the file), and the checksum shown matching the bytes received."""
import hashlib
import os
import zipfile

import requests

from helpdesk import testing

from .conftest import as_user

SIZE = 50 * 2**20 - 4096  # the largest file the default limit (50 MB) takes, less the ZIP's own bytes
GROWTH_LIMIT = 16 * 2**20  # what a process may grow by while a 50 MB file crosses it (seen: 4-9 MB)


def big_zip(path):
    """A 50 MB ZIP that does not compress, written to disk (the test holds it only as a file)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        with archive.open("firmware.bin", "w", force_zip64=False) as entry:
            left = SIZE
            while left:
                piece = os.urandom(min(left, 2**20))
                entry.write(piece)
                left -= len(piece)
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for piece in iter(lambda: file.read(2**20), b""):
            digest.update(piece)
    return path.stat().st_size, digest.hexdigest()


def test_a_50_mb_download_streams_through_with_constant_memory_and_its_checksum_matches(system, tmp_path):
    staff = as_user(system, "agent-networks@helpdesk.example")
    download = staff.call("POST", "/api/v1/downloads", {
        "title": {"es": "Firmware del router 3.1", "en": "Router firmware 3.1"}, "category": "firmware",
        "release": "3.1"}).json()
    path = tmp_path / "router-firmware-3.1.zip"
    size, sha256 = big_zip(path)
    assert size <= 50 * 2**20
    pids = [system.named["gateway"].pid, system.named["content"].pid]
    headers = {"Authorization": f"Bearer {staff.token}", "X-Forwarded-For": staff.ip,
               "Content-Type": "application/octet-stream"}

    with testing.MemoryPeak(pids) as upload, open(path, "rb") as body:
        uploaded = requests.put(system.url(f"/api/v1/downloads/{download['id']}/file"), params={"name": path.name},
                                data=body, headers=headers, timeout=120)
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["file"]["sha256"] == sha256 and uploaded.json()["file"]["size"] == size
    assert all(growth < GROWTH_LIMIT for growth in upload.growth().values()), upload.growth()
    assert staff.call("POST", f"/api/v1/downloads/{download['id']}/publish").status_code == 200

    shown = requests.get(system.url(f"/api/v1/downloads/{download['id']}"), timeout=10).json()
    with testing.MemoryPeak(pids) as fetch:
        fetched = requests.get(system.url(f"/api/v1/downloads/{download['id']}/file"), stream=True, timeout=120)
        assert fetched.status_code == 200 and int(fetched.headers["Content-Length"]) == size
        digest, received = hashlib.sha256(), 0
        for piece in fetched.iter_content(256 * 1024):
            digest.update(piece)
            received += len(piece)
    assert received == size and digest.hexdigest() == shown["file"]["sha256"] == sha256
    assert fetched.headers["ETag"] == f'"{sha256}"'
    assert all(growth < GROWTH_LIMIT for growth in fetch.growth().values()), fetch.growth()

    start = size - 3 * 2**20 - 17  # a resumed download: the rest, from within a piece
    rest = requests.get(system.url(f"/api/v1/downloads/{download['id']}/file"), timeout=60,
                        headers={"Range": f"bytes={start}-", "If-Range": f'"{sha256}"'})
    assert rest.status_code == 206 and len(rest.content) == size - start
    with open(path, "rb") as file:
        file.seek(start)
        assert file.read() == rest.content
    head = requests.head(system.url(f"/api/v1/downloads/{download['id']}/file"), timeout=10)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(size) and not head.content
    counted = testing.wait_until(lambda: requests.get(system.url(f"/api/v1/downloads/{download['id']}"),
                                                      timeout=10).json()["downloads"] == 1, timeout=5)
    assert counted  # the whole fetch; the resumed part and the HEAD are not new fetches


def test_a_body_without_its_size_is_refused_before_it_is_read(system):
    staff = as_user(system, "agent-networks@helpdesk.example")
    download = staff.call("POST", "/api/v1/downloads", {"title": {"es": "Manual"}, "category": "manuals"}).json()
    sent = requests.put(system.url(f"/api/v1/downloads/{download['id']}/file"), params={"name": "manual.pdf"},
                        data=iter([b"%PDF-1.7\n", b"..."]), timeout=10,  # a generator: sent chunked
                        headers={"Authorization": f"Bearer {staff.token}", "X-Forwarded-For": staff.ip})
    assert sent.status_code == 411 and sent.json()["error"] == "length_required"
