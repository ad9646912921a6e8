"""HotpotQA as a two-stage task for per-subtask budgets (AgentTTS): a *retrieve* stage (a model
writes ``n`` search queries; each, and the question itself, fetches ``k`` passages by BM25 from
the questions' corpus) and an *answer* stage (a model answers ``n`` times from the passages; a
vote picks the answer). The optimizer chooses a model and a sample count per stage under one
budget. Data is read from ``../shared/data/hotpotqa`` (or ``$PONDER_DATA``) through
:mod:`ponder.retrieval`; the score is token F1 against the gold answer.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from ponder.agents.solver import Query
from ponder.graphs.spec import GraphSpec, NodeSpec


@dataclass(frozen=True)
class QAItemRef:
    id: str
    query: Query
    answer: str
    golds: tuple[str, ...] = ()


def corpus_retriever(passages, *, chunk_size: int = 600):
    """``search(text, k) -> ["title: text", ...]`` by BM25 over ``passages`` (Documents)."""
    from ponder.retrieval import SparseIndex, chunk_documents

    index = SparseIndex()
    index.add(chunk_documents(passages, size=chunk_size, overlap=0))

    def search(text: str, k: int) -> list[str]:
        return [f"{h.title}: {h.chunk.text}" for h in index.search(text, k)]

    return search


class HotpotQATask:
    """``n`` HotpotQA questions (seeded order) with a BM25 retriever over their corpus."""

    name = "hotpotqa"
    prompt_tokens = 120
    stages = ("retrieve", "answer")

    def __init__(self, n: int = 20, *, seed: int = 0, data: str | None = None, k: int = 2):
        from ponder.retrieval.datasets import load_dataset

        ds = load_dataset(data or "hotpotqa")
        order = list(range(len(ds.items)))
        random.Random(seed).shuffle(order)
        self.items = [QAItemRef(ds.items[i].id, Query(ds.items[i].question, kind="open"), ds.items[i].answers[0],
                                ds.items[i].answers) for i in order[:n]]
        self.passages = ds.passages
        self.k = k
        self._search = None
        self._lock = threading.Lock()

    def retriever(self):
        """``search(text, k) -> passages`` over the corpus (BM25, built once)."""
        with self._lock:
            if self._search is None:
                self._search = corpus_retriever(self.passages)
            return self._search

    @staticmethod
    def score(item: QAItemRef, answer: str) -> float:
        from ponder.retrieval.metrics import f1_score

        return float(f1_score(answer, list(item.golds or (item.answer,))))

    def build(self, config: dict, *, max_tokens: int = 12) -> GraphSpec:
        """The two-stage graph for ``{"retrieve.model", "retrieve.n", "answer.model", "answer.n"}``."""
        n = config["answer.n"]
        nodes = [NodeSpec("retrieve", "retrieve", config["retrieve.model"], n=config["retrieve.n"],
                          temperature=0.7 if config["retrieve.n"] > 1 else None, max_tokens=max_tokens, k=self.k),
                 NodeSpec("answer", "generate", config["answer.model"], n=n, temperature=0.7 if n > 1 else None,
                          max_tokens=max_tokens, final=n == 1)]
        edges = [("retrieve", "answer")]
        if n > 1:
            nodes.append(NodeSpec("vote", "select", final=True))
            edges.append(("answer", "vote"))
        return GraphSpec(tuple(nodes), tuple(edges), name="retrieve-answer").validate(where="two-stage graph")

    def make_space(self, pool: Sequence[str], budget: float, *, cost_model=None, max_tokens: int = 12,
                   samples: Sequence[int] = (1, 2, 3, 4)):
        from ponder.graphs.optimizer.space import StagedSpace

        return StagedSpace(self.stages, tuple(pool), budget, builder=lambda c: self.build(c, max_tokens=max_tokens),
                           samples=samples, cost_model=cost_model)
