"""The public API per scaling axis, as thin functions over the layers below (re-exported by
``ponder``; see the README for an example of each):

- interaction: :func:`run_web_task` runs a web agent with a strategy on a task and returns its
  score and trace;
- retrieval: :func:`build_index` indexes the user's own texts, then
  :func:`~ponder.graphs.qa_methods.answer_question` answers over it with any QA method;
- collaboration: :func:`run_graph` runs a graph spec (hand-written, a preset from
  :func:`preset_graph`, or an optimiser's result from
  :func:`~ponder.graphs.optimizer.optimize.optimize_graph`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ponder.agents.solver import Query
    from ponder.environments.tasks import Task
    from ponder.graphs.compile import GraphResult
    from ponder.graphs.spec import GraphSpec
    from ponder.graphs.web_agent import WebAgentConfig
    from ponder.models.base import ChatModel
    from ponder.retrieval.documents import Document
    from ponder.retrieval.index import Index, IndexKind
    from ponder.retrieval.protocols import TextEmbedder
    from ponder.usage import Budget


def _model(model: ChatModel | str | None) -> ChatModel:
    from ponder.models.base import ChatModel

    if isinstance(model, ChatModel):
        return model
    from ponder.models.registry import load_model

    return load_model(model)


# ---- interaction ---------------------------------------------------------------------------------
@dataclass
class WebTaskResult:
    """What :func:`run_web_task` returns.

    Attributes:
        task_id: the task's id.
        strategy: the strategy that ran.
        score: the task evaluator's score (1.0 is solved).
        answer: the agent's final answer (``None`` when it stopped without one).
        actions: the committed actions, in order.
        stop_reason: why the run ended (answered, horizon, budget, ...).
        usage: calls, tokens, environment steps, seconds (a ``Usage.to_dict()``).
        trace: the run's trace (every node of the search, the committed path and the score);
            write it with :func:`ponder.graphs.trace.write_trace` and draw it with
            ``ponder trace view``.
    """

    task_id: str
    strategy: str
    score: float
    answer: str | None
    actions: list[str]
    stop_reason: str
    usage: dict
    trace: dict

    @property
    def solved(self) -> bool:
        return self.score >= 1.0


def run_web_task(
    task: str | Task | Any,
    *,
    strategy: str = "greedy",
    model: ChatModel | str | None = None,
    env: Any = None,
    config: WebAgentConfig | None = None,
    budget: Budget | None = None,
    judge_model: ChatModel | str | None = None,
) -> WebTaskResult:
    """Run a web agent with ``strategy`` on one task and score it.

    Args:
        task: a built-in task id (``"shop-027"``; ``ponder web tasks`` lists them), a
            :class:`~ponder.environments.tasks.Task`, or a task for ``env``.
        strategy: ``greedy``, ``recheck``, ``best-first`` (tree search) or ``best-of-n``
            (see :mod:`ponder.graphs.web_agent`).
        model: a chat model or a registry name (default: the bundled SmolLM2).
        env: the environment (default: the built-in sites in a real Chromium, opened and
            closed here); anything with the ``WebEnv`` interface, e.g.
            :class:`~ponder.environments.toy.ToyEnv`.
        config: the agent and search settings.
        budget: limits on the run; it stops cleanly at the first limit.
        judge_model: a separate model for the value judge (default: ``model``).
    """
    from ponder.graphs.web_agent import run_web

    llm = _model(model)
    judge = _model(judge_model) if judge_model is not None else None
    if isinstance(task, str):
        from ponder.environments.tasks import get_task

        task = get_task(task)
    own_env = env is None
    if own_env:
        from ponder.environments.webenv import WebEnv

        env = WebEnv()
    try:
        result = run_web(env, task, llm, strategy=strategy, config=config, budget=budget, judge_model=judge)
        score = float(env.evaluate().value)
    finally:
        if own_env:
            env.close()
    return WebTaskResult(str(getattr(task, "task_id", task)), strategy, score, result.answer, list(result.actions),
                         result.stop_reason, result.usage, dict(result.trace, score=score))


# ---- retrieval --------------------------------------------------------------------------------
def build_index(
    texts: Mapping[str, str] | Iterable[str | Document],
    *,
    kind: IndexKind = "hybrid",
    embedder: TextEmbedder | None = None,
    chunk_size: int = 1200,
    overlap: int = 200,
) -> Index:
    """An in-memory index over the user's own texts (save it with ``index.save(folder)``, load
    it again with :func:`~ponder.retrieval.index.open_index`).

    Args:
        texts: ``{name: text}`` (a name ending in ``.md``/``.html``/``.jsonl`` is read as such;
            the name is the source a hit cites), plain strings (named ``doc-1``, ``doc-2``, ...),
            or :class:`~ponder.retrieval.documents.Document` objects.
        kind: ``dense`` (embeddings), ``sparse`` (BM25) or ``hybrid`` (both, fused by rank).
        embedder: for dense and hybrid (default: the shipped all-MiniLM-L6-v2).
        chunk_size, overlap: chunking, in characters.
    """
    from ponder.errors import ConfigError
    from ponder.retrieval.documents import Document, chunk_documents, read_document
    from ponder.retrieval.index import INDEX_KINDS, index_class

    if kind not in INDEX_KINDS:
        raise ConfigError(f"unknown index kind {kind!r}", hint=f"one of {', '.join(INDEX_KINDS)}")
    items = texts.items() if isinstance(texts, Mapping) else enumerate(texts, 1)
    docs = [t if isinstance(t, Document) else read_document(name if isinstance(name, str) else f"doc-{name}", t)
            for name, t in items]
    cls = index_class(kind)
    if kind == "sparse":
        index = cls()
    else:
        if embedder is None:
            from ponder.retrieval.embedder import Embedder

            embedder = Embedder()
        index = cls(embedder)
    index.add(chunk_documents(docs, size=chunk_size, overlap=overlap), documents=docs)
    return index


# ---- collaboration ----------------------------------------------------------------------------
def preset_graph(name: str, model: str, **options: Any) -> GraphSpec:
    """A test-time strategy as a graph spec: ``single``, ``best-of-n``, ``self-consistency``,
    ``refinement``, ``hybrid`` or ``first-finish``, each node using the registry model ``model``
    (options such as ``n=5``, ``vote="weighted"``, ``steps=2``; see :mod:`ponder.graphs.strategies`)."""
    from ponder.graphs.strategies import preset

    return preset(name, model, **options)


def run_graph(
    spec: GraphSpec | Mapping[str, Any] | str | Path,
    question: str | Query,
    *,
    kind: str = "open",
    choices: Iterable[str] = (),
    models: Mapping[str, ChatModel] | None = None,
    budget: Budget | None = None,
    seed: int = 0,
    retriever: Callable[[str, int], list[str]] | None = None,
) -> GraphResult:
    """Compile a collaboration graph and run it on one question.

    Args:
        spec: a :class:`~ponder.graphs.spec.GraphSpec`, its dict form, or a ``.json``/``.yaml``
            file (an optimiser's result file works too).
        question: the question (or a ready :class:`~ponder.agents.solver.Query`).
        kind: the answer format: ``math`` (a number), ``choice`` (a letter), ``open``.
        choices: the options of a multiple-choice question (implies ``kind="choice"``).
        models: model instances by registry name (others are loaded from the registry).
        budget: limits on the whole run; a call that would pass one raises ``BudgetExceeded``.
        seed: the random seed (node seeds derive from it).
        retriever: ``retriever(text, k) -> passages``, for graphs with a ``retrieve`` node.

    Returns:
        A :class:`~ponder.graphs.compile.GraphResult`: ``answer``, each node's ``outputs``,
        ``usage``, ``seconds``.
    """
    from ponder.agents.solver import Query
    from ponder.graphs.compile import compile_graph
    from ponder.graphs.spec import GraphSpec

    if isinstance(spec, (str, Path)):
        spec = GraphSpec.load(spec)
    elif not isinstance(spec, GraphSpec):
        spec = GraphSpec.from_dict(dict(spec))
    if isinstance(question, str):
        choices = tuple(choices)
        question = Query(question, kind="choice" if choices else kind, choices=choices)
    graph = compile_graph(spec, models=models, retriever=retriever)
    return graph.run(question, budget=budget, seed=seed)
