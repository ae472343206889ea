"""Recommended downloads in a real browser (issue 13): an agent adds one in the console with a
file chosen from disk (uploaded as it is), published at once; anyone finds it from the home
page's tile in Descargas recomendadas, under its category, with its version, size and SHA-256,
downloads it (the bytes match the checksum shown) and the count goes up. Each page: CSP, same
origin, weight, axe, a picture."""
import hashlib
import io
import os
import re
import uuid
import zipfile

from ..conftest import as_user
from .browser import check_page
from .test_console_supervisor import log_in_at, speaking
from .test_journeys import choose, fill
from .texts import Text

AGENT = "agent-networks@helpdesk.example"


def test_a_download_added_in_the_console_is_fetched_from_the_portal_with_its_checksum(system, portal, tmp_path):
    speaking(system, AGENT, "en")
    staff_text, text = Text("en"), Text("es")
    tag = uuid.uuid4().hex[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("setup.exe.txt", os.urandom(700 * 1024).hex())  # two pieces
    path = tmp_path / f"asistente-router-{tag}.zip"
    path.write_bytes(buffer.getvalue())
    sha256 = hashlib.sha256(buffer.getvalue()).hexdigest()

    staff = portal("en", "desktop")
    log_in_at(staff, "/console/content", AGENT, "en")
    staff.locator("summary").filter(has_text=staff_text["publish.download.new"]).click()
    adding = staff.get_by_role("form", name=staff_text["publish.download.new"])
    title = f"Asistente del router {tag}"
    fill(adding, f"{staff_text['publish.title']} ({staff_text['language.es']})", title)
    fill(adding, f"{staff_text['publish.body']} ({staff_text['language.es']})", "Configura el **wifi** en dos pasos.")
    choose(adding, staff_text["publish.download.category"], "software")
    fill(adding, staff_text["publish.download.release"], "2.4.1")
    adding.get_by_label(staff_text["publish.download.file"], exact=True).set_input_files(str(path))
    check_page(staff, "downloads-console-en-desktop")
    adding.get_by_role("button", name=staff_text["publish.download.submit"]).click()
    adding.get_by_text(staff_text["publish.download.published"]).wait_for()
    staff.locator("[data-download]").filter(has_text=path.name).wait_for()

    anyone = portal("es", "phone")
    anyone.goto("/")
    anyone.get_by_role("link", name=re.compile(text["home.tile.downloads"])).click()
    anyone.wait_for_url(re.compile(r"/downloads$"))
    section = anyone.get_by_role("region", name=text["content.downloads.category.software"])
    item = section.locator("article.download").filter(has_text=title)
    item.wait_for()
    item.get_by_text(text("content.downloads.release", release="2.4.1")).wait_for()
    item.locator(".markdown strong").get_by_text("wifi").wait_for()
    assert item.locator(".checksum code").inner_text() == sha256
    assert text("content.downloads.count", count=0) in item.inner_text()
    check_page(anyone, "downloads-es-phone")

    with anyone.expect_download() as fetched:
        item.get_by_role("link", name=re.compile(re.escape(text["content.downloads.get"]))).click()
    download = fetched.value
    assert download.suggested_filename == path.name
    assert hashlib.sha256(open(download.path(), "rb").read()).hexdigest() == sha256
    anyone.reload()
    anyone.locator("article.download").filter(has_text=title).get_by_text(
        text("content.downloads.count", count=1)).wait_for()


def test_the_downloads_page_and_the_consoles_form_in_each_language_and_on_a_phone(system, portal):
    """A published link download, read in Spanish on a desktop and in English on a phone (its words
    from the catalogues, the checksum given with the link), and the console's download form on a
    phone: each page with its CSP, weight, axe and a picture."""
    staff = as_user(system, AGENT)
    tag = uuid.uuid4().hex[:6]
    download = staff.call("POST", "/api/v1/downloads", {
        "title": {"es": f"Manual del router {tag}", "en": f"Router manual {tag}"}, "category": "manuals",
        "link": "https://downloads.example.net/manual.pdf", "sha256": "ab" * 32}).json()
    assert staff.call("POST", f"/api/v1/downloads/{download['id']}/publish").status_code == 200
    for language, device in (("es", "desktop"), ("en", "phone")):
        text = Text(language)
        page = portal(language, device)
        page.goto("/downloads")
        section = page.get_by_role("region", name=text["content.downloads.category.manuals"])
        item = section.locator("article.download").filter(has_text=f"{tag}")
        item.get_by_role("heading", name=f"Manual del router {tag}" if language == "es" else f"Router manual {tag}").wait_for()
        assert item.locator(".checksum code").inner_text() == "ab" * 32
        assert text["content.downloads.external"] in item.inner_text()
        link = item.get_by_role("link", name=text("content.downloads.open_named",
                                                  title=f"Manual del router {tag}" if language == "es" else f"Router manual {tag}"))
        assert link.get_attribute("href") == f"/api/v1/downloads/{download['id']}/file"
        check_page(page, f"downloads-{language}-{device}")

    speaking(system, AGENT, "es")
    phone = portal("es", "phone")
    log_in_at(phone, "/console/content", AGENT, "es")
    words = Text("es")
    phone.locator("summary").filter(has_text=words["publish.download.new"]).click()
    phone.get_by_role("form", name=words["publish.download.new"]).get_by_label(
        words["publish.download.file"], exact=True).wait_for()
    check_page(phone, "downloads-console-es-phone")
