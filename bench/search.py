"""Search (issue 13: p95 <= 50 ms over 10,000 documents): the content service's handlers on
PostgreSQL, 10,000 documents written through them (announcements and incidents), then searches
of one to four words, some with accents or other forms of the words, timed one after another
from the handler's call to its answer (ranked, snippets made).

The texts are drawn as natural text is: a few words very often, most rarely (Zipf's law), from a
provider's vocabulary (the words searched) among a thousand others. A corpus where every
document holds every word (a vocabulary of forty) would time ranking all 10,000 of them for
every query, which no helpdesk's announcements are like."""
import random
import time

from helpdesk import catalog
from helpdesk.db import Database
from helpdesk.events import utcnow
from helpdesk.eventstore import PostgresEventStore
from helpdesk.migrate import migrate_all
from services.content.bootstrap import bootstrap
from services.content.search import query_words as search_words

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


SYLLABLES = "ba be ca co da de fa fi ga go la le lo ma me mi na no pa pe ra re sa se ta te to va ve za".split()


def vocabulary(rng, words, others=1000):
    """`words` among `others` made-up words, in a random order, with Zipf weights (1 / rank)."""
    made = {"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(others * 2)}
    every = list(words) + sorted(made - set(words))[:others]
    rng.shuffle(every)
    return every, [1 / (rank + 1) for rank in range(len(every))]


def sentence(rng, vocab, length):
    words, weights = vocab
    return " ".join(rng.choices(words, weights, k=length)).capitalize() + "."


def fill(content, documents, rng):
    spanish, english = vocabulary(rng, WORDS_ES), vocabulary(rng, WORDS_EN)
    for n in range(documents):
        title = {"es": sentence(rng, spanish, 6), "en": sentence(rng, english, 6)}
        body = {"es": " ".join(sentence(rng, spanish, 12) for _ in range(4)), "en": sentence(rng, english, 20)}
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
        with db.transaction() as cur:  # how many documents each query finds: the work of ranking them
            matched = []
            for query in QUERIES:
                words = search_words(query)
                cur.execute("SELECT count(*) FROM content.documents WHERE search @@ (" + " || ".join(
                    f"plainto_tsquery('spanish', %(w{i})s) || plainto_tsquery('english', %(w{i})s)"
                    for i in range(len(words))) + ")", {f"w{i}": w for i, w in enumerate(words)})
                matched.append(cur.fetchone()[0])
        latencies, found = [], []
        for n in range(searches):
            query = QUERIES[n % len(QUERIES)]
            start = time.perf_counter()
            answer = content.search(query, 10)
            latencies.append(time.perf_counter() - start)
            found.append(len(answer))
        print_table(f"Search: {documents:,} documents ({written:.0f} s to write them), {searches} searches of"
                    f" {len(QUERIES)} queries, 10 results each with snippets (services/content handlers on PostgreSQL)",
                    ["measure", "p50 ms", "p95 ms", "p99 ms", "max ms", "results (mean)", "documents matched (mean, max)"],
                    [["search", 1000 * percentile(latencies, 50), 1000 * percentile(latencies, 95),
                      1000 * percentile(latencies, 99), 1000 * max(latencies), sum(found) / len(found),
                      f"{sum(matched) / len(matched):,.0f}, {max(matched):,}"]])
    finally:
        db.close()
