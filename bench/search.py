"""Search (issue 13: p95 <= 50 ms over 10,000 documents): the content service's handlers on
PostgreSQL, 10,000 documents written through them (announcements and incidents, Spanish and
English, words drawn from a provider's vocabulary), then searches of one to four words, some
with accents or other forms of the words, timed one after another from the handler's call to its
answer (snippets made), and the same through the gateway's process is the RPC's cost on top."""
import random
import time

from helpdesk import catalog
from helpdesk.db import Database
from helpdesk.events import utcnow
from helpdesk.eventstore import PostgresEventStore
from helpdesk.migrate import migrate_all
from services.content.bootstrap import bootstrap

from .measure import percentile, print_table

STAFF = {"user_id": "bench", "name": "Bench", "role": "agent"}
WORDS_ES = ("corte fibra óptica avería router conexión lenta pérdida paquetes servidor correo webmail dominio dns"
            " renovación factura tarifa velocidad mantenimiento centro datos energía red zaragoza huesca teruel"
            " madrid barcelona cliente servicio incidencia obra cable reparación técnico instalación").split()
WORDS_EN = ("outage fibre optic failure router slow connection packet loss server mail webmail domain dns renewal"
            " invoice price speed maintenance data centre power network customer service incident repair").split()
QUERIES = ["cortes fibra", "fibra óptica", "averia router", "correo lento", "dns", "factura tarifa",
           "mantenimiento centro datos", "outage", "webmail servidor correo", "zaragoza", "reparacion cable",
           "perdida de paquetes", "energia", "fibre optic outage", "renovacion dominio", "velocidad conexion"]


def sentence(rng, words, length):
    return " ".join(rng.choice(words) for _ in range(length)).capitalize() + "."


def fill(content, documents, rng):
    for n in range(documents):
        title = {"es": sentence(rng, WORDS_ES, 5), "en": sentence(rng, WORDS_EN, 5)}
        body = {"es": " ".join(sentence(rng, WORDS_ES, 12) for _ in range(4)), "en": sentence(rng, WORDS_EN, 20)}
        if n % 4 == 0:
            content.declare_incident(STAFF, {"title": title, "message": body, "components": ["fibre", "dns"],
                                             "impact": "degraded"})
        else:
            item = content.draft_announcement(STAFF, {"title": title, "body": body})
            content.publish_announcement(STAFF, item["id"], {})


def run(database_url, documents=10_000, searches=400):
    migrate_all(database_url, ["content"])
    db = Database(database_url, size=2)
    try:
        content = bootstrap(catalog.load(), utcnow, PostgresEventStore(db, "content"), db)
        rng = random.Random(13)
        began = time.perf_counter()
        fill(content, documents, rng)
        written = time.perf_counter() - began
        with db.transaction() as cur:
            cur.execute("ANALYZE content.documents")
        latencies, found = [], []
        for n in range(searches):
            query = QUERIES[n % len(QUERIES)]
            start = time.perf_counter()
            answer = content.search(query, 10)
            latencies.append(time.perf_counter() - start)
            found.append(len(answer))
        print_table(f"Search: {documents:,} documents ({written:.0f} s to write them), {searches} searches of"
                    f" {len(QUERIES)} queries, 10 results each with snippets (services/content handlers on PostgreSQL)",
                    ["measure", "p50 ms", "p95 ms", "p99 ms", "max ms", "results (mean)"],
                    [["search", 1000 * percentile(latencies, 50), 1000 * percentile(latencies, 95),
                      1000 * percentile(latencies, 99), 1000 * max(latencies), sum(found) / len(found)]])
    finally:
        db.close()
