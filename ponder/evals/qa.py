"""``ponder eval qa``: a retrieval-QA method over a multi-hop dataset, one resumable JSONL row
per question.

Rows (see :mod:`ponder.evals.runner`): ``id``, ``kind="qa"``, ``strategy`` (the method),
``model``, ``success``, ``score``, ``metrics`` {em, f1, acc, sp_recall}, ``usage``, ``seconds``,
plus the question, gold answers, prediction, raw reply, evidence titles, the gold-coverage curve
over steps and the stop reason.

``success`` is answer-in-output accuracy (``acc``: a gold answer appears in the model's reply),
the criterion FlashRAG reports as "acc": the bundled SmolLM2 rarely produces an exact span, so EM
would mark almost every question failed; ``score`` is the token F1 of the short answer.

The passages are indexed once per dataset and embedder (a dense flat index cached under the
user cache dir, or ``index=DIR`` for a prebuilt one of any kind).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from ponder.errors import ConfigError, PonderError
from ponder.evals.runner import Job, Runner, run_job, worker_model_name
from ponder.graphs.qa_methods import METHODS, QAMethod, answer_question
from ponder.retrieval.datasets import QADataset, QAItem, load_dataset
from ponder.retrieval.metrics import qa_metrics
from ponder.retrieval.rewards import coverage_curve
from ponder.usage import Budget, Usage


def index_cache_dir() -> Path:
    return Path(os.environ.get("PONDER_CACHE") or platformdirs.user_cache_dir("ponder")) / "qa-index"


def dataset_index(dataset: QADataset, *, embedder: Any = None, kind: str = "dense", show_progress: bool = False):
    """The index over a dataset's passages, built once and cached (keyed by the passage ids,
    the embedder and the kind)."""
    from ponder.retrieval import DenseIndex, Embedder, HybridIndex, SparseIndex, chunk_documents
    from ponder.retrieval.index import open_index

    embedder = embedder or Embedder()
    key = hashlib.sha1("|".join(sorted(d.doc_id for d in dataset.passages)).encode()).hexdigest()[:10]
    folder = index_cache_dir() / f"{dataset.name}-{key}-{embedder.name}-{kind}"
    if (folder / "manifest.json").exists():
        try:
            return open_index(folder, embedder)
        except PonderError:
            pass  # damaged or stale: rebuild below
    index = {"dense": lambda: DenseIndex(embedder), "sparse": SparseIndex, "hybrid": lambda: HybridIndex(embedder)}[kind]()
    # a passage is one chunk when it fits (HotpotQA passages do)
    index.add(chunk_documents(dataset.passages, size=2000, overlap=200), documents=dataset.passages)
    index.save(folder)
    return index


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """``["samples=8", "note=generated", "types=true"]`` -> ``{"samples": 8, "note": "generated",
    "types": True}`` (ints, floats and true/false parsed); a pair without ``=`` is a
    :class:`ConfigError` naming it."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"bad method setting {pair!r}", hint="write KEY=VALUE, e.g. --set samples=8")
        parsed: Any = value.strip()
        if parsed.lower() in ("true", "false"):
            out[key.strip().replace("-", "_")] = parsed.lower() == "true"
            continue
        for cast in (int, float):
            try:
                parsed = cast(parsed)
                break
            except ValueError:
                continue
        out[key.strip().replace("-", "_")] = parsed
    return out


def _coverage(item: QAItem, steps: list[dict]) -> list[float]:
    per_step = []
    for s in steps:
        docs = s.get("docs") if "docs" in s and isinstance(s.get("docs"), list) else s.get("new_docs")
        if isinstance(docs, list):
            per_step.append(docs)
    return [round(c, 4) for c in coverage_curve(item.supporting_titles, per_step)]


@dataclass
class QAQuestions:
    """One QA evaluation's questions as a :class:`~ponder.evals.runner.Job`: each worker holds the
    model and the index; a unit is one :class:`QAItem`."""

    method: str
    dataset: str  # the dataset's name or path (a worker loads its index from it)
    dataset_name: str
    model: Any  # a ChatModel (local backend), a registry name or a factory
    model_name: str
    index: str | None
    search_index: Any  # the driver's index (local backend), else None: each worker opens its own
    budget: Budget | None
    top_k: int | None
    seed: int
    cfg: dict

    def make_state(self) -> tuple[Any, Any]:
        from ponder.evals.runner import load_worker_model

        if self.method == "none":
            index = None
        elif self.search_index is not None:
            index = self.search_index
        elif self.index is not None:
            from ponder.retrieval.index import open_index

            index = open_index(self.index)
        else:
            index = dataset_index(load_dataset(self.dataset))
        return load_worker_model(self.model), index

    def _head(self, item: QAItem) -> dict[str, Any]:
        # the question, its answers and supporting titles stay in the dataset (joined by id): a
        # results file holds what was measured, not a copy of the data
        head = {"id": item.id, "kind": "qa", "strategy": self.method, "model": self.model_name,
                "dataset": self.dataset_name, "seed": self.seed}
        if self.cfg or self.budget is not None:  # the compute level and budget this row was measured at
            head["settings"] = {**self.cfg, **({"budget": self.budget.limits()} if self.budget is not None else {})}
        return head

    def run_unit(self, state: tuple[Any, Any], item: QAItem) -> dict:
        llm, search_index = state
        usage = Usage(self.budget, name=f"qa/{item.id}")
        start = time.perf_counter()
        row = self._head(item)
        try:
            result = answer_question(item.question, search_index, method=self.method, model=llm, usage=usage,
                                     top_k=self.top_k, **self.cfg)
        except PonderError as e:  # e.g. the budget allows nothing: a failed question, not a harness error
            metrics = qa_metrics("", "", item.answers, item.supporting_titles, [])
            row.update(success=False, score=0.0, metrics=metrics, usage=usage.to_dict(), prediction="", raw="",
                       stop=f"{type(e).__name__}: {e.message}", seconds=round(time.perf_counter() - start, 3))
            return row
        titles = list(dict.fromkeys(h.chunk.title for h in result.evidence))
        metrics = qa_metrics(result.answer, result.raw, item.answers, item.supporting_titles, titles)
        row.update(
            success=bool(metrics["acc"]), score=metrics["f1"], metrics=metrics, usage=usage.to_dict(),
            seconds=round(time.perf_counter() - start, 3), prediction=result.answer, raw=result.raw,
            evidence=titles, coverage=_coverage(item, result.steps),
            stop=result.stop, best_note=result.best_note, steps=len(result.steps),
        )
        judged = [{k: s[k] for k in ("accepted", "verdict", "preference", "gain") if k in s} for s in result.steps if s.get("node") == "judge"]
        if judged:  # Adaptive-Note: what the judge (or gain rule) decided at each step
            row["judged"] = judged
        if result.extra:  # scaling methods: vote agreement, grounding, the allocator's decisions
            row["extra"] = result.extra
        return row

    def error_row(self, item: QAItem, reason: str) -> dict:
        row = self._head(item)
        row.update(success=False, score=0.0, metrics=qa_metrics("", "", item.answers, item.supporting_titles, []),
                   usage={}, prediction="", raw="", error=reason)
        return row


def run_qa_eval(dataset: str, method: QAMethod = "adaptive-note", model: str | None = None, workers: int = 1,
                out: str | os.PathLike = "results/qa.jsonl", limit: int | None = None, seed: int = 0, *,
                index: str | os.PathLike | None = None, top_k: int | None = None, budget: Budget | str | None = None,
                show_progress: bool = True, llm: Any = None, runner: Runner | None = None, **cfg: Any) -> list[dict]:
    """Evaluate ``method`` on ``dataset`` (a name or path, see
    :func:`ponder.retrieval.datasets.load_dataset`) and append rows to ``out``; questions
    already in ``out`` are skipped. Returns every row in the file.

    Args:
        model: a registry name (``llm`` may pass a ready model instead, e.g. in tests, or, for
            Ray, a zero-argument factory each worker calls).
        limit: the first ``limit`` questions (in file order, so runs are comparable).
        seed: recorded; decoding is greedy so runs repeat.
        index: a prebuilt index folder instead of the cached dataset index.
        budget: per-question limits.
        runner: the backend (default: ``workers`` local threads sharing one model and index);
            on Ray each worker loads its own.
        **cfg: method settings passed to :func:`~ponder.graphs.qa_methods.answer_question`.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown QA method {method!r}", hint=f"one of {', '.join(METHODS)}")
    if isinstance(budget, str):
        budget = Budget.parse(budget)
    data = load_dataset(dataset)
    items = data.items[:limit] if limit else list(data.items)
    if not items:
        raise ConfigError(f"dataset {dataset!r} has no questions")
    local = runner is None or runner.name == "local"
    where = str(Path(dataset).resolve()) if Path(dataset).exists() else dataset  # a worker's folder may differ
    index_path = str(Path(index).resolve()) if index is not None else None
    search_index = None
    if local and method != "none":  # one index for every thread, opened here as before
        if index is not None:
            from ponder.retrieval.index import open_index

            search_index = open_index(index)
        else:
            search_index = dataset_index(data)
    spec = llm if llm is not None else model
    if local:
        from ponder.evals.runner import load_worker_model

        spec = load_worker_model(spec)
    model_name = getattr(spec, "name", None) or worker_model_name(spec)
    questions = QAQuestions(method, where, data.name, spec, model_name, index_path, search_index, budget, top_k, seed, cfg)
    job = Job(questions.make_state, questions.run_unit, error_row=questions.error_row, name="qa eval")
    return run_job(job, items, out=out, key=lambda it: it.id, runner=runner, workers=workers,
                   description=f"qa {method} ({data.name})", show_progress=show_progress)


def summarize(rows: list[dict]) -> dict[str, float]:
    """Means of the QA metrics and of calls, tokens, retrievals and seconds per question."""
    if not rows:
        return {}
    n = len(rows)
    out = {k: round(sum(r["metrics"][k] for r in rows) / n, 4) for k in ("em", "f1", "acc", "sp_recall")}
    for k in ("calls", "tokens", "retrievals"):
        out[k] = round(sum(r["usage"].get(k, 0) for r in rows) / n, 2)
    out["seconds"] = round(sum(r.get("seconds", 0) for r in rows) / n, 2)
    out["questions"] = n
    return out


def _rescored(row: dict, golds: dict[str, list[str]]) -> dict:
    """A row with its short answer re-parsed from the raw reply by the current parser, and EM/F1
    recomputed against ``golds`` (id -> answers; rows of older files carry their own ``gold``),
    so rows written by an older parser become comparable; the file is not changed."""
    from ponder.agents.answerer import parse
    from ponder.retrieval.metrics import exact_match, f1_score

    gold = row.get("gold") or golds.get(row["id"])
    if "raw" not in row or not gold or row.get("stop", "").startswith(("BudgetExceeded",)):
        return row
    prediction = parse(row["raw"])
    metrics = {**row["metrics"], "em": exact_match(prediction, gold), "f1": round(f1_score(prediction, gold), 4)}
    return {**row, "prediction": prediction, "metrics": metrics, "score": metrics["f1"]}


def compare_table(paths: list[str | os.PathLike], *, common: bool = True, rescore: bool = False,
                  dataset: str | None = None) -> tuple[str, dict[str, dict]]:
    """A Markdown table of :func:`summarize` per results file (one method each), over the
    questions every file has answered when ``common`` (so methods are compared on the same
    questions); ``rescore`` re-parses short answers from the raw replies first, against the gold
    answers of ``dataset`` (default: the dataset named in the rows). Returns the table and the
    summaries by method."""
    from ponder.evals.runner import read_rows

    loaded = {}
    for p in paths:
        rows = read_rows(p)
        if rows:
            loaded[rows[0].get("strategy", Path(p).stem)] = rows
    if not loaded:
        return "(no rows)", {}
    if rescore:
        rows = [r for rs in loaded.values() for r in rs]
        name = dataset or next((r["dataset"] for r in rows if "gold" not in r and r.get("dataset")), None)
        golds = {it.id: list(it.answers) for it in load_dataset(name).items} if name else {}
        loaded = {m: [_rescored(r, golds) for r in rows] for m, rows in loaded.items()}
    ids = set.intersection(*({r["id"] for r in rows} for rows in loaded.values())) if common else None
    summaries = {m: summarize([r for r in rows if ids is None or r["id"] in ids]) for m, rows in loaded.items()}
    lines = ["| method | questions | EM | F1 | acc | sp recall | calls/q | tokens/q | retrievals/q | seconds/q |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for m, s in summaries.items():
        lines.append(f"| {m} | {s['questions']} | {s['em']:.3f} | {s['f1']:.3f} | {s['acc']:.3f} | {s['sp_recall']:.3f} | "
                     f"{s['calls']:.2f} | {s['tokens']:.0f} | {s['retrievals']:.2f} | {s['seconds']:.1f} |")
    return "\n".join(lines), summaries
