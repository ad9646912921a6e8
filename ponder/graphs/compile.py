"""Compile a :class:`~ponder.graphs.spec.GraphSpec` into a LangGraph ``StateGraph`` and run it.

Every spec node becomes a LangGraph node; a node with several predecessors waits for all of them
(fan-in), and nodes whose inputs are ready run in the same super-step in parallel threads
(fan-out). Same-model calls that are in flight at the same moment (parallel nodes of one run, or
several runs of :meth:`CompiledGraph.run_many`) are merged by a :class:`CallBatcher` into one
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
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig

from ponder.agents.fuser import fuse_messages
from ponder.agents.reviewer import parse_verdict, review_messages
from ponder.agents.solver import Query, generate_messages, parse_answer, query_messages, refine_messages
from ponder.errors import BudgetExceeded, ConfigError
from ponder.graphs.cost import CostModel
from ponder.graphs.spec import GraphSpec, NodeSpec
from ponder.models.base import ChatModel, Completion, Messages
from ponder.text import majority_vote, normalize_answer
from ponder.usage import Budget, Usage

STOP = ["\n\n", "\nQuestion", "\nInstructions"]


# ---- batching same-model calls ----------------------------------------------------------------
@dataclass
class _Request:
    convs: list[Messages]
    usage: Usage | None
    expected: int
    done: threading.Event = field(default_factory=threading.Event)
    result: list[list[Completion]] | None = None
    error: BaseException | None = None


class CallBatcher:
    """Merges concurrent calls to one model that share sampling settings into one
    ``generate_batch``. The first caller waits up to ``window`` seconds (or until the number of
    requests it was told to expect has arrived) for others, then makes the call for all; each
    request's ledger is checked before and charged after with its own tokens and its share of
    the seconds."""

    def __init__(self, model: ChatModel, *, window: float = 0.25):
        self.model = model
        self.window = window
        self._cond = threading.Condition()
        self._pending: dict[tuple, list[_Request]] = {}
        self._leader: set[tuple] = set()
        self.batches: list[int] = []  # conversations per backend call, for tests and benches

    def generate(self, convs: list[Messages], *, n: int, temperature: float, max_tokens: int,
                 stop: Sequence[str] | None, logprobs: bool = False, seed: int | None = None,
                 usage: Usage | None = None, expected: int = 1) -> list[list[Completion]]:
        if usage is not None:
            prompt = sum(self.model.count_tokens(m) for m in convs) * n
            decode = len(convs) * n * max_tokens
            usage.check(calls=len(convs), prompt_tokens=prompt, completion_tokens=decode,
                        flops=2.0 * self.model.info.parameters * (prompt + decode))
        key = (n, temperature, max_tokens, tuple(stop or ()), logprobs)
        req = _Request(list(convs), usage, expected)
        with self._cond:
            self._pending.setdefault(key, []).append(req)
            self._cond.notify_all()
            lead = key not in self._leader
            if lead:
                self._leader.add(key)
        if not lead:
            req.done.wait()
            if req.error is not None:
                raise req.error
            assert req.result is not None
            return req.result
        deadline = time.monotonic() + self.window
        with self._cond:
            while True:
                group = self._pending[key]
                want = max(r.expected for r in group)
                left = deadline - time.monotonic()
                if sum(1 for _ in group) >= want or left <= 0:
                    break
                self._cond.wait(left)
            group = self._pending.pop(key)
            self._leader.discard(key)
        self._dispatch(group, n=n, temperature=temperature, max_tokens=max_tokens, stop=stop,
                       logprobs=logprobs, seed=seed)
        if req.error is not None:
            raise req.error
        assert req.result is not None
        return req.result

    def _dispatch(self, group: list[_Request], **kw) -> None:
        flat = [c for r in group for c in r.convs]
        self.batches.append(len(flat))
        start = time.perf_counter()
        try:
            rows = self.model.generate_batch(flat, usage=Usage(name="batcher"), **kw)
        except BaseException as e:  # every waiter sees the failure
            for r in group:
                r.error = e
                r.done.set()
            return
        elapsed = time.perf_counter() - start
        total = max(1, len(flat))
        i = 0
        for r in group:
            r.result = rows[i:i + len(r.convs)]
            i += len(r.convs)
            if r.usage is not None:
                prompt = sum(c.prompt_tokens for row in r.result for c in row)
                completion = sum(c.completion_tokens for row in r.result for c in row)
                r.usage.charge(calls=len(r.convs), prompt_tokens=prompt, completion_tokens=completion,
                               flops=2.0 * self.model.info.parameters * (prompt + completion),
                               seconds=elapsed * len(r.convs) / total)
            r.done.set()


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
        self._batchers: dict[str, CallBatcher] = {}
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

    def batcher(self, name: str) -> CallBatcher:
        model = self.model(name)
        with self._lock:
            if name not in self._batchers:
                self._batchers[name] = CallBatcher(model, window=self.batch_window)
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
                usage.check(retrievals=1)
                found.extend(self.retriever(q, node.k))
                usage.charge(retrievals=1)
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
