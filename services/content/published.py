"""The content in the shapes other programs read, pure: the network status as Atlassian
Statuspage's public `summary.json` (v2) that status-page clients and widgets expect, and Atom
feeds (RFC 4287) of the announcements and of the status. Text in one language (the one asked
for, else the other one written), Markdown as plain text; XML built by ElementTree (escaped)."""
import xml.etree.ElementTree as ET

from . import markdown

COMPONENT_STATUS = {"operational": "operational", "maintenance": "under_maintenance",
                    "degraded": "degraded_performance", "partial_outage": "partial_outage",
                    "major_outage": "major_outage"}
IMPACT = {"degraded": "minor", "partial_outage": "major", "major_outage": "critical"}
INDICATOR = {"operational": "none", "maintenance": "none", "degraded": "minor", "partial_outage": "major",
             "major_outage": "critical"}
ATOM = "http://www.w3.org/2005/Atom"


def text_in(texts, language):
    texts = texts or {}
    return texts.get(language) or next((texts[code] for code in ("es", "en") if texts.get(code)), "")


def statuspage_summary(status, page, names, language, descriptions):
    """`status`: Content.status(); `page`: {id, name, url, time_zone}; `names`: component code ->
    {es, en}; `descriptions`: overall state -> its sentence in `language`."""
    position = {code: index + 1 for index, code in enumerate(names)}

    def component(code, state):
        return {"id": code, "name": text_in(names[code], language), "status": COMPONENT_STATUS[state],
                "created_at": None, "updated_at": status["at"], "position": position[code], "description": None,
                "showcase": True, "start_date": None, "group_id": None, "page_id": page["id"], "group": False,
                "only_show_if_degraded": False}

    def updates(incident):
        return [{"id": f"{incident['id']}-{index}", "status": entry["status"],
                 "body": markdown.plain_text(text_in(entry["message"], language)), "incident_id": incident["id"],
                 "created_at": entry["at"], "updated_at": entry["at"], "display_at": entry["at"],
                 "affected_components": None}
                for index, entry in reversed(list(enumerate(incident["updates"])))]

    def incident(item):
        last = item["updates"][-1]["at"]
        monitoring = next((e["at"] for e in item["updates"] if e["status"] == "monitoring"), None)
        return {"id": item["id"], "name": text_in(item["title"], language), "status": item["status"],
                "created_at": item["created_at"], "updated_at": last, "monitoring_at": monitoring,
                "resolved_at": item["ended_at"], "impact": IMPACT[item["impact"]],
                "shortlink": f"{page['url']}/network-status#incident-{item['id']}", "started_at": item["started_at"],
                "page_id": page["id"], "incident_updates": updates(item),
                "components": [component(code, states[code]) for code in item["components"] if code in states]}

    def maintenance(item):
        on = item["starts_at"] <= status["at"] < item["ends_at"]
        return {"id": item["id"], "name": text_in(item["title"], language),
                "status": "in_progress" if on else "scheduled", "created_at": item["created_at"],
                "updated_at": item["updated_at"], "monitoring_at": None, "resolved_at": None, "impact": "maintenance",
                "shortlink": f"{page['url']}/network-status#maintenance-{item['id']}", "started_at": item["starts_at"],
                "page_id": page["id"], "scheduled_for": item["starts_at"], "scheduled_until": item["ends_at"],
                "incident_updates": [], "components": [component(code, states[code]) for code in item["components"]
                                                       if code in states]}

    states = {c["code"]: c["state"] for service in status["services"] for c in service["components"]}
    return {
        "page": {"id": page["id"], "name": page["name"], "url": page["url"], "time_zone": page["time_zone"],
                 "updated_at": status["at"]},
        "status": {"indicator": INDICATOR[status["overall"]], "description": descriptions[status["overall"]]},
        "components": [component(code, state) for code, state in states.items()],
        "incidents": [incident(item) for item in status["incidents"] if item["status"] != "resolved"],
        "scheduled_maintenances": [maintenance(item) for item in status["maintenances"]],
    }


def atom_feed(feed_id, title, link, updated, entries):
    """An Atom feed; `entries`: [{id, title, link, updated, published?, text}], newest first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}id").text = feed_id
    ET.SubElement(feed, f"{{{ATOM}}}title").text = title
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = updated
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=link)
    for item in entries:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = item["id"]
        ET.SubElement(entry, f"{{{ATOM}}}title").text = item["title"]
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = item["updated"]
        if item.get("published"):
            ET.SubElement(entry, f"{{{ATOM}}}published").text = item["published"]
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=item["link"])
        ET.SubElement(entry, f"{{{ATOM}}}content", type="text").text = item["text"]
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = title
    return ET.tostring(feed, encoding="unicode", xml_declaration=True)


def announcements_feed(items, site, language, title):
    entries = [{"id": f"urn:uuid:{item['id']}", "title": text_in(item["title"], language),
                "link": f"{site}/announcements#announcement-{item['id']}", "updated": item["updated_at"],
                "published": item["publish_at"], "text": markdown.plain_text(text_in(item["body"], language))}
               for item in items]
    updated = max((entry["updated"] for entry in entries), default="1970-01-01T00:00:00+00:00")
    return atom_feed(f"{site}/feeds/announcements.atom", title, f"{site}/announcements", updated, entries)


def status_feed(status, site, language, title, status_words):
    """One entry per incident update and per maintenance window (newest first)."""
    entries = []
    for incident in status["incidents"]:
        name = text_in(incident["title"], language)
        for index, entry in enumerate(incident["updates"]):
            entries.append({"id": f"urn:uuid:{incident['id']}#{index}", "title": f"{name}: {status_words[entry['status']]}",
                            "link": f"{site}/network-status#incident-{incident['id']}", "updated": entry["at"],
                            "text": markdown.plain_text(text_in(entry["message"], language))})
    for window in status["maintenances"]:
        entries.append({"id": f"urn:uuid:{window['id']}", "title": text_in(window["title"], language),
                        "link": f"{site}/network-status#maintenance-{window['id']}", "updated": window["updated_at"],
                        "text": f"{window['starts_at']} – {window['ends_at']}. "
                                + markdown.plain_text(text_in(window["message"], language))})
    entries.sort(key=lambda entry: entry["updated"], reverse=True)
    return atom_feed(f"{site}/feeds/status.atom", title, f"{site}/network-status", status["at"], entries)
