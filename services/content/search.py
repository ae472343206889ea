"""Full-text search of the content (announcements, downloads, incidents, maintenance windows) in Spanish and
English: stemmed (PostgreSQL's `spanish` and `english` configurations), accents ignored (folded
here, before PostgreSQL sees the text, so no extension is needed), any word of the query
matching, ranked, with the matching words marked in a snippet. Pure helpers; the SQL is in
repository.py, and repositories.InMemoryDocuments models it for the in-process system."""
import re
import unicodedata

from . import markdown

WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_WORDS = 12
SNIPPET_WORDS = 24


def fold(text):
    """Lowercase, without accents ("Óptica" -> "optica"); ñ stays ñ, as Spanish spells it."""
    decomposed = unicodedata.normalize("NFD", (text or "").lower().replace("ñ", "\u0000"))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").replace("\u0000", "ñ")


def words(text):
    return WORD.findall(fold(text))


def query_words(query):
    """The query's words (folded), at most MAX_QUERY_WORDS, each once, in order."""
    return list(dict.fromkeys(words(query)))[:MAX_QUERY_WORDS]


def document_texts(state):
    """{language: (title, body)} of a document, Markdown as plain text: each language's words
    are stemmed by its own rules."""
    result = {}
    for language in ("es", "en"):
        title = (state.get("title") or {}).get(language) or ""
        parts = [(state.get("body") or state.get("message") or state.get("description") or {}).get(language) or ""]
        parts += [entry["message"].get(language) or "" for entry in state.get("updates") or ()]
        result[language] = (title, " ".join(markdown.plain_text(part) for part in parts if part))
    return result


def document_text(state, texts=None):
    """(title, body) of a document, every language together (`texts`: its document_texts)."""
    texts = (texts or document_texts(state)).values()
    return " ".join(t for t, _ in texts if t), " ".join(b for _, b in texts if b)


def snippet(text, matches):
    """A part of `text` around the first word that `matches(folded word)`, as [[text, hit], ...]:
    the portal marks the hits (<mark>) with DOM calls, never by parsing markup. Words are found
    in the folded text, which keeps the positions of the text (NFC: one folded letter for one)."""
    folded = fold(text)
    if len(folded) != len(text):  # not NFC: fold word by word
        folded = "".join(fold(part) if len(fold(part)) == len(part) else "_" * len(part) for part in re.split(r"(\W+)", text))
    spans = [m.span() for m in WORD.finditer(folded)]
    first = next((i for i, (a, b) in enumerate(spans) if matches(folded[a:b])), 0)
    window = spans[max(0, first - SNIPPET_WORDS // 2):max(0, first - SNIPPET_WORDS // 2) + SNIPPET_WORDS]
    if not window:
        return [[text[:200], False]] if text else []
    begin = 0 if window[0] == spans[0] else window[0][0]  # the text's own start and end, when in the window
    stop = len(text) if window[-1] == spans[-1] else window[-1][1]
    parts, cursor = [], begin
    for a, b in window:
        if a > cursor:
            parts.append([text[cursor:a], False])
        hit = matches(folded[a:b])
        if parts and parts[-1][1] == hit:
            parts[-1][0] += text[a:b] if a >= cursor else ""
        else:
            parts.append([text[a:b], hit])
        cursor = b
    if stop > cursor:
        parts.append([text[cursor:stop], False])
    merged = []
    for piece, hit in parts:
        if merged and merged[-1][1] == hit:
            merged[-1][0] += piece
        else:
            merged.append([piece, hit])
    if begin > 0:
        merged[0][0] = "… " + merged[0][0]
    if stop < len(text):
        merged[-1][0] = merged[-1][0] + " …"
    return merged


def matcher(asked):
    """A test of a folded word against the query's words (same_stem), remembering its answers."""
    known = {}

    def matches(word):
        if word not in known:
            known[word] = any(same_stem(word, other) for other in asked)
        return known[word]
    return matches


def same_stem(word, other):
    """Whether two folded words look like one stem ("cortes", "corte"; "optica", "opticas"): the
    in-memory model of PostgreSQL's stemming, and how snippets pick the words to mark."""
    if len(word) < 3 or len(other) < 3:
        return word == other
    common = 0
    for a, b in zip(word, other):
        if a != b:
            break
        common += 1
    return common >= max(3, min(len(word), len(other)) - 2)
