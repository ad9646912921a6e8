"""Compile a :class:`~ponder.graphs.spec.GraphSpec` into a LangGraph ``StateGraph`` and run it.

Every spec node becomes a LangGraph node; a node with several predecessors waits for all of them
(fan-in), and nodes whose inputs are ready run in the same super-step in parallel threads
(fan-out). Same-model calls that are in flight at the same moment (parallel nodes of one run, or
several runs of :meth:`CompiledGraph.run_many`) are merged by a :class:`GraphBatcher` into one
``generate_batch`` call, which the transformers backend decodes as one padded batch.

A run returns a :class:`GraphResult`: the final answer, every node's output (candidates, raw
texts, the cost model's estimate beside the measured tokens and seconds) and the run's
:class:`~ponder.usage.Usage`. A :class:`~ponder.usage.Budget` given to the run is enforced on the
whole graph: every call is checked before it is made.
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig

from ponder.agents.fuser import fuse_messages
from ponder.agents.reviewer import parse_verdict, review_messages
from ponder.agents.solver import Query, generate_messages, parse_answer, query_messages, refine_messages
from ponder.errors import BudgetExceeded, ConfigError
from ponder.graphs.cost import CostModel
from ponder.graphs.spec import GraphSpec, NodeSpec
from ponder.models.base import ChatModel, Completion, Messages
from ponder.models.batching import CallBatcher, batch_key, runs_alone
from ponder.text import majority_vote, normalize_answer
from ponder.usage import Budget, Usage, model_call, spend

STOP = ["\n\n", "\nQuestion", "\nInstructions"]


# ---- batching same-model calls ----------------------------------------------------------------
class GraphBatcher:
    """The calls a compiled graph makes to one model, joined by the shared
    :class:`~ponder.models.batching.CallBatcher`: calls that agree on their settings and arrive
    together (parallel branches, the runs of :meth:`CompiledGraph.run_many`) become one
    ``generate_batch``. A call names how many same-settings calls it expects, so merging waits
    for them (up to ``window`` seconds) rather than for a fixed time. Seeded sampling calls run
    alone, so a run's samples never depend on which other runs were in flight. Each caller's
    ledger is checked before and charged after with its own tokens and its share of the seconds."""

    def __init__(self, model: ChatModel, *, window: float = 0.25):
        self.model = model
        self.calls = CallBatcher(self._run, window_s=window, max_rows=64)

    @property
    def batches(self) -> list[int]:
        """Conversations per backend call, in order (for tests and benches)."""
        return self.calls.sizes

    def _run(self, key: tuple, convs: list[Messages], _limits: list) -> list[list[Completion]]:
        n, temperature, logprobs, seed, *settings = key
        opts = dict(settings)
        # usage is charged per caller in generate(); this ledger only keeps the merged call off
        # whichever ledger happens to be active in the leading caller's thread
        return self.model.generate_batch(convs, n=n, temperature=temperature, logprobs=logprobs, seed=seed,
                                         max_tokens=opts["max_tokens"], stop=list(opts["stop"]) or None,
                                         usage=Usage(name="batch"))

    def generate(self, convs: list[Messages], *, n: int, temperature: float, max_tokens: int,
                 stop: Sequence[str] | None, logprobs: bool = False, seed: int | None = None,
                 usage: Usage | None = None, expected: int = 1) -> list[list[Completion]]:
        model = self.model
        prompt = sum(model.count_tokens(m) for m in convs) * n if usage is not None else 0
        worst = model_call(model.info.parameters, calls=len(convs), prompt_tokens=prompt,
                           completion_tokens=len(convs) * n * max_tokens)
        key = batch_key(n=n, temperature=temperature, logprobs=logprobs, seed=seed, max_tokens=max_tokens,
                        stop=tuple(stop or ()))
        with spend(usage, **worst) as spending:
            rows, seconds = self.calls.submit_timed(key, convs, None, alone=runs_alone(temperature, seed),
                                                    expected=expected)
            spending.actual(**model_call(
                model.info.parameters, calls=len(convs),
                prompt_tokens=sum(c.prompt_tokens for row in rows for c in row),
                completion_tokens=sum(c.completion_tokens for row in rows for c in row),
            ), seconds=seconds)
        return rows


# ---- results ------------------------------------------------------------------------------------
@dataclass
class GraphResult:
    """What a graph run returns."""

    answer: str
    outputs: dict[str, dict]
    usage: Usage
    seconds: float
    graph: str = "graph"

    def to_dict(self) -> dict:
        return {"graph": self.graph, "answer": self.answer, "seconds": round(self.seconds, 3),
                "usage": self.usage.to_dict(), "outputs": self.outputs}


class GraphState(TypedDict):
    query: Query
    outputs: Annotated[dict, operator.or_]


def _seed(base: int, node: str) -> int:
    return (base * 1_000_003 + int(hashlib.sha1(node.encode()).hexdigest()[:8], 16)) % (2**31)


# ---- the compiled graph -------------------------------------------------------------------------
class CompiledGraph:
    """A spec compiled to a LangGraph ``StateGraph``, ready to run on queries.

    Args:
        spec: the validated graph.
        models: model instances by name (tests pass scripted ones); other names are loaded
            from the registry on first use.
        cost_model: estimates recorded beside measurements (default: registry parameters, the
            pool being the spec's models).
        batch_window: seconds a call waits for same-model calls to merge with.
        retriever: ``retriever(text, k) -> list[str]`` passages, for ``retrieve`` nodes (each
            search is charged as one retrieval).
    """

    def __init__(self, spec: GraphSpec, *, models: Mapping[str, ChatModel] | None = None,
                 cost_model: CostModel | None = None, batch_window: float = 0.25,
                 retriever: Callable[[str, int], list[str]] | None = None):
        self.spec = spec
        self.retriever = retriever
        if retriever is None and any(n.role == "retrieve" for n in spec.nodes):
            raise ConfigError(f"graph {spec.name!r} has a retrieve node but no retriever was given",
                              hint="pass retriever=... (a function from query text and k to passages)")
        self._models = dict(models or {})
        self._batchers: dict[str, GraphBatcher] = {}
        self._lock = threading.Lock()
        self.batch_window = batch_window
        if cost_model is None:
            cost_model = CostModel(parameters={k: m.info.parameters for k, m in self._models.items()})
        self.cost_model = cost_model
        self.estimate = cost_model.estimate(spec)
        levels = spec.levels()
        # how many same-settings calls of one model start together on each level
        self._expected: dict[str, int] = {}
        for n in spec.nodes:
            if n.uses_model:
                group = [m for m in spec.nodes if m.uses_model and levels[m.id] == levels[n.id]
                         and (m.model, m.n, m.sampling_temperature, m.max_tokens, m.role == "review")
                         == (n.model, n.n, n.sampling_temperature, n.max_tokens, n.role == "review")]
                self._expected[n.id] = len(group)
        self._weighted_inputs = {p for n in spec.nodes if n.role == "select" and n.vote == "weighted"
                                 for p in spec.predecessors(n.id)}
        self.graph = self._build()

    # -- models
    def model(self, name: str) -> ChatModel:
        with self._lock:
            if name not in self._models:
                from ponder.models.registry import load_model

                self._models[name] = load_model(name)
            return self._models[name]

    def batcher(self, name: str) -> GraphBatcher:
        model = self.model(name)
        with self._lock:
            if name not in self._batchers:
                self._batchers[name] = GraphBatcher(model, window=self.batch_window)
            return self._batchers[name]

    # -- building
    def _build(self):
        from langgraph.graph import END, START, StateGraph

        builder = StateGraph(GraphState)
        for n in self.spec.nodes:
            builder.add_node(n.id, self._node_fn(n))
        for n in self.spec.nodes:
            preds = self.spec.predecessors(n.id)
            if not preds:
                builder.add_edge(START, n.id)
            elif len(preds) == 1:
                builder.add_edge(preds[0], n.id)
            else:
                builder.add_edge(preds, n.id)  # waits for every predecessor
        builder.add_edge(self.spec.final.id, END)
        return builder.compile()

    def _node_fn(self, node: NodeSpec) -> Callable[[GraphState, RunnableConfig], dict]:
        def run(state: GraphState, config: RunnableConfig) -> dict:
            cfg = (config or {}).get("configurable", {})
            usage: Usage = cfg["usage"]
            seed: int = cfg.get("seed", 0)
            runs: int = cfg.get("runs", 1)
            start = time.perf_counter()
            scope = usage.scope(node.id)
            record = self._execute(node, state["query"], state["outputs"], scope, _seed(seed, node.id), runs)
            record["measured"] = {**{k: scope.to_dict()[k] for k in ("calls", "prompt_tokens", "completion_tokens", "flops")},
                                  "seconds": round(time.perf_counter() - start, 4)}
            record["estimate"] = self.estimate.nodes[node.id].to_dict()
            return {"outputs": {node.id: record}}

        return run

    def _incoming(self, node: NodeSpec, outputs: dict) -> list[dict]:
        cands: list[dict] = []
        for p in self.spec.predecessors(node.id):
            cands.extend(outputs[p]["candidates"])
        return cands

    def _call(self, node: NodeSpec, convs: list[Messages], usage: Usage, seed: int, runs: int = 1, *,
              n: int | None = None, max_tokens: int | None = None, logprobs: bool = False):
        assert node.model is not None
        return self.batcher(node.model).generate(
            convs, n=n or node.n, temperature=node.sampling_temperature, max_tokens=max_tokens or node.max_tokens,
            stop=STOP, logprobs=logprobs, seed=seed, usage=usage, expected=self._expected.get(node.id, 1) * runs,
        )

    def _execute(self, node: NodeSpec, query: Query, outputs: dict, usage: Usage, seed: int, runs: int = 1) -> dict:
        incoming = self._incoming(node, outputs)
        answers = [c["answer"] for c in incoming]
        record: dict[str, Any] = {"role": node.role, "model": node.model}
        passages = [p for pred in self.spec.predecessors(node.id) for p in outputs[pred].get("passages", [])]
        if passages:
            query = dataclasses.replace(query, context=tuple(dict.fromkeys(passages)))
        if node.role == "retrieve":
            completions = self._call(node, [query_messages(query)], usage, seed, runs)[0]
            written = [c.text.strip().split("\n")[0].strip(" \"'") for c in completions]
            queries = list(dict.fromkeys([query.text, *(q for q in written if q)]))
            found: list[str] = []
            assert self.retriever is not None
            for q in queries:
                with spend(usage, retrievals=1):
                    found.extend(self.retriever(q, node.k))
            record.update(answer="", candidates=[], queries=queries, passages=list(dict.fromkeys(found)))
        elif node.role in ("generate", "refine", "fuse", "final"):
            if node.role == "generate":
                distinct = list(dict.fromkeys(a for a in answers if a))
                conv = generate_messages(query, distinct or None)
            elif node.role == "refine":
                conv = refine_messages(query, answers)
            else:
                conv = fuse_messages(query, answers)
            want_lp = node.id in self._weighted_inputs
            completions = self._call(node, [conv], usage, seed, runs, logprobs=want_lp)[0]
            cands = []
            for c in completions:
                weight = 1.0
                if want_lp and c.mean_logprob is not None:
                    import math

                    weight = math.exp(c.mean_logprob)
                cands.append({"answer": parse_answer(query, c.text), "text": c.text, "weight": round(weight, 6),
                              "tokens": c.completion_tokens, "finished": c.finish_reason == "stop"})
            voted, tally = majority_vote([c["answer"] for c in cands])
            record.update(answer=voted, candidates=cands, tally=tally)
        elif node.role == "review":
            distinct: dict[str, dict] = {}
            for c in incoming:
                if c["answer"] and normalize_answer(c["answer"]) not in distinct:
                    distinct[normalize_answer(c["answer"])] = c
            options = list(distinct.values())
            counts = {k: sum(1 for a in answers if normalize_answer(a) == k) for k in distinct}
            scores: list[float] = []
            if options:
                rows = self._call(node, [review_messages(query, o["answer"]) for o in options], usage, seed, runs)
                scores = [sum(parse_verdict(c.text) for c in row) / len(row) for row in rows]
            ranked = sorted(range(len(options)), key=lambda i: (-scores[i], -counts[normalize_answer(options[i]["answer"])], i))
            best = options[ranked[0]] if options else {"answer": ""}
            record.update(
                answer=best["answer"],
                candidates=[{"answer": best["answer"], "weight": scores[ranked[0]] if options else 0.0,
                             "tokens": best.get("tokens", 0), "finished": True}],
                scores={o["answer"]: s for o, s in zip(options, scores, strict=True)},
            )
        elif node.role == "select":
            weights = [c.get("weight", 1.0) for c in incoming] if node.vote == "weighted" else None
            voted, tally = majority_vote(answers, weights)
            tally = {k: round(v, 6) for k, v in tally.items()}
            record.update(answer=voted, candidates=[{"answer": voted, "weight": 1.0, "tokens": 0, "finished": True}], tally=tally)
        elif node.role == "first":
            pool = [c for c in incoming if c.get("finished", True) and c["answer"]] or [c for c in incoming if c["answer"]]
            best = min(pool, key=lambda c: c.get("tokens", 0)) if pool else {"answer": "", "tokens": 0}
            record.update(answer=best["answer"], candidates=[{**best}])
        else:  # validated specs never get here
            raise ConfigError(f"node {node.id!r}: role {node.role!r} cannot run")
        return record

    # -- running
    def run(self, query: Query | str, *, usage: Usage | None = None, budget: Budget | None = None,
            seed: int = 0, runs: int = 1) -> GraphResult:
        """Run the graph on one query. ``budget`` (or ``usage``'s own budget) is enforced on
        the whole run; a call that would pass it raises BudgetExceeded before it is made."""
        if isinstance(query, str):
            query = Query(query)
        ledger = usage if usage is not None else Usage(budget, name=self.spec.name)
        if usage is not None and budget is not None:
            ledger = usage.scope(self.spec.name, budget)
        start = time.perf_counter()
        state = self.graph.invoke(
            {"query": query, "outputs": {}},
            config={"configurable": {"usage": ledger, "seed": seed, "runs": runs}, "max_concurrency": 16},
        )
        elapsed = time.perf_counter() - start
        ledger.charge(wall_seconds=elapsed)
        outputs = state["outputs"]
        return GraphResult(outputs[self.spec.final.id]["answer"], outputs, ledger, elapsed, graph=self.spec.name)

    def run_many(self, queries: Sequence[Query], *, concurrency: int = 4, seed: int = 0,
                 budget: Budget | None = None) -> list[GraphResult | BaseException]:
        """Run several queries concurrently (their same-model calls batch together). A query
        that fails (for example on its budget) gives its exception in place of a result."""

        def one(i: int) -> GraphResult | BaseException:
            try:
                return self.run(queries[i], budget=budget, seed=seed + i, runs=min(concurrency, len(queries)))
            except BudgetExceeded as e:
                return e

        with ThreadPoolExecutor(max(1, concurrency)) as pool:
            return list(pool.map(one, range(len(queries))))


def compile_graph(spec: GraphSpec, **kwargs) -> CompiledGraph:
    """Compile ``spec`` (see :class:`CompiledGraph` for the options)."""
    return CompiledGraph(spec, **kwargs)
