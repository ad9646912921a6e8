"""Grounded answer spans: what in the passages a small model's reply names, and which passage spans
could be the answer at all.

A 135M model answers in sentences ("The film that was shot in Leland ... was "The Shining""),
so its short answer is rarely a span of the evidence. These pure text functions turn a reply into
a grounded span and list the spans a scorer can choose among:

- :func:`question_kind`: ``yesno`` (a question starting with an auxiliary verb, no ``X or Y``),
  ``choice`` (two named options, "Which is older, X or Y?") or ``open``;
- :func:`choice_options`: the two options of a choice question;
- :func:`passage_spans`: candidate answer spans of passages: capitalised phrases (names,
  titles), numbers and dates;
- :func:`span_support`: how much of the question the evidence around a span speaks of (the
  largest share of the question's content words in one sentence, with its passage's title, that
  contains the span): a candidate named in the sentence that matches the question is likelier the
  answer than one named elsewhere;
- :func:`answer_type`, :func:`of_answer_type`: whether an open question asks for a date or
  number or for a name, and the spans of that type;
- :func:`focus`: the sentences of passages that speak of the question, for a shorter prompt;
- :func:`snap`: the grounded span a reply names: for a yes/no question the reply's yes or no; for
  a choice question the option the reply names first; otherwise the passage span that occurs in
  the reply and not in the question (the first one in the reply, chosen on the first 50 HotpotQA
  questions, see docs/RESULTS.md), or the reply's short answer when none does.

No model, no index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from ponder.graphs.qa_signals import passage_text, passage_title, split_sentences
from ponder.retrieval.rewards import content_words
from ponder.text import extract_short_answer, normalize_answer

Kind = Literal["yesno", "choice", "open"]
#: What an open question asks for: a date or number (``quantity``) or a name (``name``).
AnswerType = Literal["quantity", "name"]
#: How :func:`snap` picks among the passage spans a reply names.
SnapRule = Literal["last", "first", "longest", "shortest"]

_AUX = re.compile(r"^\W*(are|is|was|were|do|does|did|can|could|has|have|had|will|would|should)\b", re.I)
_YES_NO = re.compile(r"\b(yes|no)\b", re.I)
# a capitalised phrase: capitalised words, possibly joined by short lower-case connectors
# ("Bank of America", "Eddie "The Eagle" Edwards"), and a date or number
_CONNECT = r"(?:of|the|de|la|le|von|van|der|and|du|da|di|for|in|on|&)"
_WORD = r"(?:[A-Z](?:[\w'\-]|\.(?=\w))*|[A-Z]\.(?=\s[A-Z]))"
_PHRASE = re.compile(rf"\b{_WORD}(?:[ \-](?:{_CONNECT}[ ])*{_WORD})*")
_MONTHS = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_DATE = re.compile(rf"\b(?:{_MONTHS}\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+{_MONTHS}\s+\d{{4}}|{_MONTHS}\s+\d{{4}})\b")
_NUMBER = re.compile(r"\b\d+(?:[,.]\d+)*(?:st|nd|rd|th)?(?:\s+(?:century|centuries))?(?:\s+(?:million|billion|thousand|hundred|percent|years?|km|miles|metres|meters|feet))?\b")
_PAREN = re.compile(r"\s*\(.*\)$")  # a title's parenthetical: "(1963 film)"
_STOP_PHRASES = frozenset({"the", "a", "an", "he", "she", "it", "they", "this", "that", "his", "her", "in", "on",
                           "i", "we", "you", "there", "these", "those", "its", "their", "as", "at", "by", "after",
                           "before", "during", "when", "while", "however", "although", "following"})


def question_kind(question: str) -> Kind:
    """``choice`` when the question names two options (``X or Y``), ``yesno`` when it starts
    with an auxiliary verb (or a sentence in it does: "... has an OBE. Does ... also have one?"),
    else ``open``."""
    if choice_options(question):
        return "choice"
    sentences = re.split(r"(?<=[.?!])\s+", question.strip())
    if any(_AUX.match(s) for s in sentences):
        return "yesno"
    return "open"


def choice_options(question: str) -> tuple[str, str] | None:
    """The two options of ``Which ..., X or Y?`` (``None`` when the question has no ``or``
    between two options): X is the text after the last comma or verb-like lead before ``or``, Y
    the text after it up to the question mark."""
    q = " ".join(question.split()).rstrip(" ?")
    if " or " not in q:
        return None
    left, right = q.rsplit(" or ", 1)
    # the left option starts after the last comma, colon, or a lead such as "Which band was formed first"
    head = re.split(r"[,:]\s*", left)[-1]
    m = re.search(r"\b(?:first|earlier|later|older|younger|larger|bigger|smaller|taller|longer|shorter|more|less|"
                  r"between|is|was|are|were|did|does|do|has|have)\s+(?=[A-Z\"'])", head)
    if m:
        head = head[m.end():]
    else:
        caps = list(_PHRASE.finditer(head))
        if not caps:
            return None
        head = head[caps[-1].start():] if len(caps) == 1 else head[caps[0].start():]
    head = re.sub(r"^(?:the|a|an)\s+", "", head.strip(" \"'"))  # "the Cotula", not "The Exies"
    right = re.sub(r"^(?:the|a|an)\s+", "", right.strip(" \"'"))
    right = re.split(r"[,;]| who | which | that ", right)[0].strip(" \"'")
    if not head or not right or len(head.split()) > 8 or len(right.split()) > 8:
        return None
    if not all(re.match(r"[A-Z0-9\"']", opt) for opt in (head, right)):
        return None  # "shot in or around Leland": not two named options
    return head, right


def passage_spans(passages: Iterable[Any], *, max_words: int = 8) -> list[str]:
    """Candidate answer spans of ``passages`` (hits, chunks, dicts or strings), in order of first
    appearance, unique after normalisation: titles, capitalised phrases (and their sub-phrases
    split at connectors), dates and numbers of at most ``max_words`` words."""
    seen: set[str] = set()
    out: list[str] = []

    def add(span: str) -> None:
        span = span.strip(" .,;:'\"()-")
        key = normalize_answer(span)
        if not key or key in seen or key in _STOP_PHRASES or len(span.split()) > max_words:
            return
        seen.add(key)
        out.append(span)

    for p in passages:
        chunk = getattr(p, "chunk", p)
        title = passage_title(chunk)
        if title:
            add(_PAREN.sub("", title))  # "Charley's Aunt (1963 film)" -> "Charley's Aunt"
        # the text apart from the title: a phrase must not run from the title into the text
        text = chunk.get("text", "") if isinstance(chunk, dict) else getattr(chunk, "text", passage_text(p))
        for m in _DATE.finditer(text):
            add(m.group())
        for m in _PHRASE.finditer(text):
            add(m.group())
            parts = re.split(rf"\s+{_CONNECT}\s+", m.group())
            if len(parts) > 1:
                for part in parts:
                    add(part)
        for m in _NUMBER.finditer(text):
            add(m.group())
    return out


_WH = re.compile(r"\b(who|whom|whose|where|when|how (?:many|much|long|old|tall|far|large|big)|what|which)\b", re.I)
_SKIP = frozenset({"is", "was", "are", "were", "the", "a", "an", "he", "she", "it", "did", "does", "do", "of"})
_AUX_AFTER = frozenset({"is", "was", "are", "were", "did", "does", "do", "has", "have", "had", "can", "could", "will",
                        "would", "type", "kind", "sort", "in", "on", "at", "for", "by", "with", "to", "from"})
_QUANTITY_NOUNS = frozenset({"year", "years", "decade", "century", "date", "day", "month", "population", "number",
                             "age", "percentage", "percent", "height", "length", "size", "amount", "time", "times"})


def answer_type(question: str) -> AnswerType | None:
    """What the question's first interrogative asks for: ``quantity`` for when, how many/much/...,
    and what/which followed by a word such as year, population or number ("what was the
    population"); ``name`` for who, whom, whose, where, and what/which followed directly by a
    noun ("what city", "which band"); ``None`` when it cannot tell ("what is ...")."""
    m = _WH.search(question)
    if not m:
        return None
    wh = m.group(1).lower()
    if wh in ("who", "whom", "whose", "where"):
        return "name"
    if wh == "when" or wh.startswith("how"):
        return "quantity"
    after = re.findall(r"[a-z]+", question[m.end():].lower())[:4]
    if next((w for w in after if w not in _SKIP), "") in _QUANTITY_NOUNS:
        return "quantity"
    return "name" if after and after[0] not in _AUX_AFTER else None


def is_quantity(span: str) -> bool:
    """Whether ``span`` is a date or a number (with its unit), not a name."""
    span = span.strip()
    return bool(_DATE.fullmatch(span) or _NUMBER.fullmatch(span))


def of_answer_type(question: str, spans: Sequence[str]) -> list[str]:
    """The ``spans`` of the type ``question`` asks for (:func:`answer_type`): only the dates and
    numbers for a quantity, no dates and numbers for a name; all of them when the type is unknown
    or none is of it."""
    want = answer_type(question)
    if want is None:
        return list(spans)
    kept = [s for s in spans if is_quantity(s) == (want == "quantity")]
    return kept or list(spans)


def title_subject(title: str) -> str:
    """The normalised subject of a passage title: "Charley's Aunt (1963 film)" -> "charley s aunt"."""
    return normalize_answer(_PAREN.sub("", title or ""))


def _contains(haystack: str, needle: str) -> int:
    """The word offset of normalised ``needle`` in normalised ``haystack`` (-1 when absent)."""
    h, n = f" {haystack} ", f" {needle} "
    i = h.find(n)
    return -1 if i < 0 else h[:i].count(" ")


def named_spans(reply: str, question: str, spans: Sequence[str]) -> list[tuple[int, str]]:
    """The spans that occur in ``reply`` (as whole words, normalised) and not in ``question``,
    with their word offset in the reply."""
    r, q = normalize_answer(reply), normalize_answer(question)
    out = []
    for span in spans:
        key = normalize_answer(span)
        if not key or _contains(q, key) >= 0:
            continue
        at = _contains(r, key)
        if at >= 0:
            out.append((at, span))
    return out


def pick_option(reply: str, options: Sequence[str]) -> str:
    """The option ``reply`` names first ('' when it names none); an option matches on its full
    normalised text or on its last word (a surname, "Nick Hexum" -> "Hexum")."""
    r = f" {normalize_answer(reply)} "
    best, where = "", len(r) + 1
    for opt in options:
        key = normalize_answer(opt)
        if not key:
            continue
        for probe in (key, key.split()[-1]):
            i = r.find(f" {probe} ")
            if 0 <= i < where:
                best, where = opt, i
                break
    return best


def snap(reply: str, question: str, passages: Iterable[Any], *, rule: SnapRule = "first",
         spans: Sequence[str] | None = None) -> str:
    """The grounded span ``reply`` names (see the module docstring); ``spans`` overrides the
    passages' candidate spans (:func:`passage_spans`)."""
    kind = question_kind(question)
    short = extract_short_answer(reply or "")
    if kind == "yesno":
        m = _YES_NO.search(reply or "")
        if m:
            return m.group(1).lower()
        # a reply that neither says yes nor no: a negated statement answers no, else yes
        return "no" if re.search(r"\b(?:not|neither|nor|never|n't)\b", reply or "", re.I) else "yes"
    if kind == "choice":
        options = choice_options(question) or ()
        return pick_option(reply or "", options) or short
    found = named_spans(reply or "", question, passage_spans(passages) if spans is None else spans)
    if not found:
        return short
    if rule == "first":
        return min(found, key=lambda f: f[0])[1]
    if rule == "last":
        # the span starting last; of those starting at the same word, the longest
        return max(found, key=lambda f: (f[0], len(f[1].split())))[1]
    if rule == "longest":
        return max(found, key=lambda f: (len(normalize_answer(f[1]).split()), -f[0]))[1]
    return min(found, key=lambda f: (len(normalize_answer(f[1]).split()), f[0]))[1]


def span_support(question: str, span: str, passages: Sequence[Any], context: Mapping[str, str] | None = None) -> float:
    """The largest share of ``question``'s content words found in one sentence of ``passages``
    (read with its passage's title, since "He was born in ..." names its subject only there) that
    contains ``span`` (case-insensitive, as whole words); 0.0 when no sentence contains it or the
    question has no content words. The span's own words do not count.

    ``context`` maps a passage title to text read with each of its sentences too: the sentence
    that led to a linked passage (:mod:`ponder.graphs.qa_links`), so that a span's support counts
    both hops; not for the passage's own subject (the link, not its answer)."""
    return supporting_sentence(question, span, passages, context)[0]


def supporting_sentence(question: str, span: str, passages: Sequence[Any],
                        context: Mapping[str, str] | None = None) -> tuple[float, str]:
    """:func:`span_support` and the sentence that gives it (``title sentence``; the first of
    equals; '' when no sentence names ``span``)."""
    if not span.strip():
        return 0.0, ""
    wanted = content_words(question) - content_words(span)
    needle = re.compile(rf"(?<!\w){re.escape(span.strip())}(?!\w)", re.I)
    key = normalize_answer(span)
    best, where = -1, ""
    for p in passages:
        for title, sentence in split_sentences(p):
            named = f"{title} {sentence}"
            if needle.search(named):
                via = context.get(title, "") if context and title_subject(title) != key else ""
                shared = len(wanted & content_words(f"{title} {via} {sentence}"))
                if shared > best:
                    best, where = shared, named
    return (best / len(wanted) if wanted and best > 0 else 0.0), where


def focus(question: str, passages: Sequence[Any], *, keep: int) -> list[dict]:
    """What a model reads of ``passages`` when it reads less: of each passage, the ``keep``
    sentences sharing the most content words with ``question`` (read with the passage's title;
    ties keep the earlier sentence), in their order, as ``{title, text}`` passages."""
    wanted = content_words(question)
    out = []
    for p in passages:
        pairs = split_sentences(p)
        if not pairs:
            continue
        best = sorted(range(len(pairs)), key=lambda j: -len(wanted & content_words(f"{pairs[j][0]} {pairs[j][1]}")))
        out.append({"title": pairs[0][0], "text": " ".join(pairs[j][1] for j in sorted(best[:keep]))})
    return out
