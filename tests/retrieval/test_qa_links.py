"""Following links (the second hop found without the model) and support across two hops."""

import pytest

from ponder.errors import ConfigError
from ponder.graphs.qa_links import follow_links
from ponder.graphs.qa_methods import answer_question
from ponder.graphs.qa_spans import span_support
from ponder.models.scripted import ScriptedChatModel
from tests.conftest import sparse_index
from tests.retrieval.test_qa_span import DOCS, QUESTION

IPHONE = {"title": "iPhone", "text": DOCS["iPhone"]}
APPLE = {"title": "Apple Inc.", "text": DOCS["Apple Inc."]}


class CountingSearch:
    """The test index's search, recording every query."""

    def __init__(self, docs=DOCS):
        self.index, self.queries = sparse_index(docs), []

    def __call__(self, query: str, k: int):
        self.queries.append(query)
        return self.index.search(query, k)


def test_a_bridge_span_leads_to_the_passage_about_it():
    search = CountingSearch()
    hits = search(QUESTION, 1)
    assert [h.title for h in hits] == ["iPhone"]  # the question matches the bridge passage only
    links = follow_links(QUESTION, hits, search, links=1)
    assert [(k.span, k.hit.title) for k in links] == [("Apple Inc", "Apple Inc.")]
    assert "designed by Apple Inc." in links[0].via  # the sentence that named it, with its title
    assert search.queries[1] == "Apple Inc"  # the lookup is a retrieval with the span as the query


def test_links_follow_only_new_passages_and_spend_at_most_max_probes_retrievals():
    search = CountingSearch()
    both = search(QUESTION, 2)
    assert follow_links(QUESTION, both, search, links=2) == []  # the passage about Apple is already read
    search.queries.clear()
    assert follow_links(QUESTION, both[:1], search, links=0) == [] and search.queries == []
    follow_links(QUESTION, both[:1], search, links=3, max_probes=2)
    assert len(search.queries) <= 2
    # a span the question names is not followed: "Who designed the iPhone?" names the bridge's passage
    assert follow_links("What did Apple Inc. design?", [IPHONE], search, links=1) == []
    with pytest.raises(ConfigError, match="links"):
        follow_links(QUESTION, both, search, links=-1)


def test_support_in_a_linked_passage_counts_the_sentence_that_led_to_it():
    via = {"Apple Inc.": "iPhone The iPhone is a line of smartphones designed by Apple Inc."}
    q = "Who founded the company that designed the iPhone?"  # founded, company, designed, iphone
    alone = span_support(q, "Steve Jobs", [IPHONE, APPLE])
    both = span_support(q, "Steve Jobs", [IPHONE, APPLE], via)
    assert alone == pytest.approx(1 / 4) and both == pytest.approx(3 / 4)
    # the link itself is the passage's subject: its support is its own sentence's, not the chain's
    assert span_support(q, "Apple Inc.", [IPHONE, APPLE], via) == span_support(q, "Apple Inc.", [IPHONE, APPLE])


def test_span_with_links_reads_the_second_hop_and_logs_it():
    model = ScriptedChatModel([(r"Only give me the answer", "It was founded by Steve Jobs.")])
    index = sparse_index(DOCS)
    one = answer_question(QUESTION, index, method="span", model=model, top_k=1, rule="ctx", links=0)
    assert [h.title for h in one.evidence] == ["iPhone"] and "Steve Jobs" not in {s["text"] for s in one.extra["spans"]}
    two = answer_question(QUESTION, index, method="span", model=model, top_k=1, rule="ctx", links=1, samples=1)
    assert [h.title for h in two.evidence] == ["iPhone", "Apple Inc."]
    assert two.extra["links"][0]["span"] == "Apple Inc" and two.answer == "Steve Jobs"
    assert any(s["node"] == "links" and s["docs"] == ["Apple Inc."] for s in two.steps)
    assert two.usage.retrievals == one.usage.retrievals + 1  # the lookup is charged


def test_focus_keeps_each_passages_sentences_that_speak_of_the_question():
    from ponder.graphs.qa_spans import focus

    q = "Who founded the company that designed the iPhone?"
    read = focus(q, [APPLE, IPHONE], keep=1)
    assert read == [{"title": "Apple Inc.", "text": "Apple Inc. was founded by Steve Jobs, Steve Wozniak and Ronald Wayne in 1976."},
                    {"title": "iPhone", "text": "The iPhone is a line of smartphones designed by Apple Inc."}]
    assert focus(q, [APPLE], keep=5) == [APPLE]  # fewer sentences than keep: the passage, in order


def test_span_without_a_reply_scores_alone_and_reads_the_focused_sentences():
    model = ScriptedChatModel([(r"Only give me the answer", "It was founded by Steve Jobs.")])
    index = sparse_index(DOCS)
    full = answer_question(QUESTION, index, method="span", model=model, top_k=1, rule="ctx", links=1, samples=1)
    quiet = answer_question(QUESTION, index, method="span", model=model, top_k=1, rule="ctx", links=1, samples=0,
                            sentences=1, types=True)
    assert full.usage.calls == 2 and quiet.usage.calls == 1  # one scoring call, no generation
    assert quiet.extra["replies"] == [] and quiet.extra["snapped"] == ""
    best = max(quiet.extra["spans"], key=lambda s: s["ctx"] + 50 * s["support"])
    assert quiet.answer == best["text"] in {"Steve Jobs", "Steve Wozniak", "Ronald Wayne"}  # "Who": a name
    prompt = model.scored[-1][0][0]["content"]
    assert "Steve Jobs" in prompt and "Cupertino" not in prompt  # one sentence of each passage
    assert quiet.usage.tokens < full.usage.tokens
    with pytest.raises(ConfigError, match="sentences"):
        answer_question(QUESTION, index, method="span", model=model, sentences=-1)


def test_candidates_far_below_the_best_support_are_not_scored():
    model = ScriptedChatModel([(r"Only give me the answer", "Steve Jobs.")])
    index = sparse_index(DOCS)
    q = "Who founded the company based in Cupertino?"
    every = answer_question(q, index, method="span", model=model, top_k=3, links=0, types=False, window=float("inf"))
    close = answer_question(q, index, method="span", model=model, top_k=3, links=0, types=False, window=0.0)
    supports = {s["text"]: s["support"] for s in every.extra["spans"]}
    best = max(supports.values())
    assert {s["text"] for s in close.extra["spans"]} == {t for t, v in supports.items() if v == best}
    assert len(close.extra["spans"]) < len(every.extra["spans"]) and close.usage.tokens < every.usage.tokens
    assert close.answer == every.answer  # here the best-supported candidate wins either way
    with pytest.raises(ConfigError, match="window"):
        answer_question(q, index, method="span", model=model, window=-0.1)


def test_each_method_retrieves_its_own_default_depth():
    """``top_k`` unset: 3 passages for the span methods (more lowered F1 there), 5 for the others."""

    class Recording:
        def __init__(self):
            self.index, self.ks = sparse_index(DOCS), []

        def search(self, query, k):
            self.ks.append(k)
            return self.index.search(query, k)

    model = ScriptedChatModel([(r"Only give me the answer", "Steve Jobs.")])
    for method, cfg, k in (("span", {}, 3), ("auto", {}, 3), ("auto", {"first": "notes"}, 5), ("single", {}, 5),
                           ("span", {"top_k": 2}, 2)):
        index = Recording()
        answer_question(QUESTION, index, method=method, model=model, **cfg)
        assert index.ks[0] == k, (method, cfg)
