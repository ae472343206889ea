"""Full-text search of the content (announcements, incidents, maintenance windows) in Spanish and
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


def document_text(state):
    """(title, body) of a document, every language together, Markdown as plain text."""
    title = " ".join((state.get("title") or {}).values())
    parts = [markdown.plain_text(text) for text in (state.get("body") or state.get("message") or {}).values()]
    for entry in state.get("updates") or ():
        parts += [markdown.plain_text(text) for text in entry["message"].values()]
    return title, " ".join(parts)


def snippet(text, matches):
    """A part of `text` around the first word that `matches(folded word)`, as [[text, hit], ...]:
    the portal marks the hits (<mark>) with DOM calls, never by parsing markup."""
    tokens = re.split(r"(\w+)", text)
    found = [i for i, token in enumerate(tokens) if i % 2 == 1 and matches(fold(token))]
    start = max(0, (found[0] if found else 1) - SNIPPET_WORDS // 2 * 2)
    picked = tokens[start:start + SNIPPET_WORDS * 2]
    parts = []
    for offset, token in enumerate(picked):
        hit = (start + offset) in found
        if parts and parts[-1][1] == hit:
            parts[-1][0] += token
        else:
            parts.append([token, hit])
    if start > 0 and parts:
        parts[0][0] = "… " + parts[0][0].lstrip()
    if start + SNIPPET_WORDS * 2 < len(tokens) and parts:
        parts[-1][0] = parts[-1][0].rstrip() + " …"
    return [part for part in parts if part[0]]


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
