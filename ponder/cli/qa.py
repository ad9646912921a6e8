"""``ponder qa index PATH --out DIR`` and ``ponder qa ask "question" --index DIR``."""

from __future__ import annotations

import json
import time

import typer
from rich.console import Console
from rich.markup import escape

from ponder.errors import ConfigError

qa_app = typer.Typer(no_args_is_help=True, help="Retrieval question answering: build an index, ask it.")
console = Console()
_O = typer.Option


@qa_app.command("index")
def index_cmd(
    path: str = typer.Argument(..., help="A file or folder of .txt .md .html .jsonl documents."),
    out: str = _O(..., "--out", "-o", help="The index folder (updated in place when it exists)."),
    kind: str = _O("dense", help="dense, sparse or hybrid (only for a new index)."),
    dense_kind: str = _O("flat", "--dense", help="FAISS structure: flat (exact), hnsw or ivf."),
    embedder: str = _O(None, help="Embedding model name or folder (default all-MiniLM-L6-v2)."),
    backend: str = _O("auto", help="Embedder backend: auto, onnx-int8, onnx, torch."),
    chunk_size: int = _O(1200, help="Chunk size in characters."),
    overlap: int = _O(200, help="Chunk overlap in characters."),
    max_bytes: int = _O(20 * 1024 * 1024, help="Skip files larger than this."),
    fresh: bool = _O(False, help="Replace an existing index instead of updating it."),
) -> None:
    """Ingest documents and write (or update) an index folder atomically."""
    from pathlib import Path

    from ponder.retrieval import Embedder, chunk_documents, ingest_path
    from ponder.retrieval.dense import DenseIndex
    from ponder.retrieval.hybrid import HybridIndex
    from ponder.retrieval.index import open_index
    from ponder.retrieval.sparse import SparseIndex

    if kind not in ("dense", "sparse", "hybrid"):
        raise ConfigError(f"unknown index kind {kind!r}", hint="one of dense, sparse, hybrid")
    start = time.perf_counter()
    report = ingest_path(path, max_bytes=max_bytes)
    for file, reason in report.skipped:
        console.print(f"[yellow]skipped[/] {escape(file)}: {escape(reason)}", highlight=False)
    emb = Embedder(embedder, backend=backend) if kind != "sparse" else None
    existing = Path(out) / "manifest.json"
    if existing.exists() and not fresh:
        index = open_index(out, emb if emb is not None else None)
        replaced = index.delete([d.doc_id for d in report.documents])
        action = f"updated ({replaced} old chunks of re-ingested documents replaced)"
    else:
        index = {"dense": lambda: DenseIndex(emb, kind=dense_kind), "sparse": SparseIndex,
                 "hybrid": lambda: HybridIndex(emb, dense_kind=dense_kind)}[kind]()
        action = "built"
    chunks = chunk_documents(report.documents, size=chunk_size, overlap=overlap)
    with console.status(f"embedding and indexing {len(chunks)} chunks"):
        index.add(chunks, documents=report.documents)
        index.save(out)
    console.print(f"{action} {index.kind} index at {escape(out)}: {len(report.documents)} documents read, "
                  f"{len(chunks)} chunks added, {len(index)} chunks / {len(index.doc_ids())} documents in total, "
                  f"{len(report.skipped)} files skipped, {time.perf_counter() - start:.1f} s", highlight=False)


@qa_app.command("ask")
def ask_cmd(
    question: str = typer.Argument(..., help="The question."),
    index: str = _O(..., "--index", "-i", help="An index folder from `ponder qa index`."),
    method: str = _O("single", help="none, single, iterative, adaptive-note, adaptive-note-gain, adaptive-note-graded."),
    model: str = _O(None, "--model", "-m", help="Registry name (default smollm2-135m)."),
    top_k: int = _O(5, help="Passages per retrieval."),
    budget: str = _O(None, help="Limits, e.g. calls=10,tokens=8000,retrievals=5."),
    as_json: bool = _O(False, "--json", help="Print the result as JSON."),
    show_steps: bool = _O(False, "--steps", help="Also print the loop's steps."),
) -> None:
    """Answer a question over an index; print the answer, the evidence with sources, and usage."""
    from ponder.graphs.qa_methods import METHODS, answer_question
    from ponder.retrieval.index import open_index
    from ponder.usage import Budget

    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}", hint=f"one of {', '.join(METHODS)}")
    idx = open_index(index) if method != "none" else None
    result = answer_question(question, idx, method=method, model=model, budget=Budget.parse(budget), top_k=top_k)
    if as_json:
        data = result.to_dict()
        for e in data["evidence"]:
            e["source"] = idx.source(e["doc_id"]) if idx is not None else ""
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    console.print(f"[bold]answer:[/] {escape(result.answer) or '[dim](none)[/]'}", highlight=False)
    if result.raw.strip() and result.raw.strip() != result.answer:
        console.print(f"[dim]model reply: {escape(result.raw.strip())}[/]", highlight=False)
    if result.best_note:
        console.print(f"[bold]note:[/] {escape(result.best_note)}", highlight=False)
    if result.evidence:
        console.print("[bold]evidence:[/]")
        for h in result.evidence:
            src = idx.source(h.chunk.doc_id) if idx is not None else ""
            snippet = " ".join(h.chunk.text.split())
            snippet = snippet[:160] + ("..." if len(snippet) > 160 else "")
            console.print(f"  {h.rank}. [cyan]{escape(h.chunk.title)}[/] ({escape(src or h.chunk.doc_id)} "
                          f"chars {h.chunk.start}-{h.chunk.end}, score {h.score:.3f})\n     {escape(snippet)}", highlight=False)
    if show_steps:
        for s in result.steps:
            console.print(f"[dim]{escape(json.dumps(s, ensure_ascii=False))}[/]", highlight=False)
    u = result.usage.to_dict()
    stop = f", stopped: {result.stop}" if result.stop else ""
    console.print(f"[dim]{method}: {u['calls']} calls, {u['tokens']} tokens, {u['retrievals']} retrievals, "
                  f"{result.seconds:.1f} s{stop}[/]", highlight=False)


@qa_app.command("table")
def table_cmd(
    files: list[str] = typer.Argument(..., help="Results files of `ponder eval qa`, one per method."),
    all_rows: bool = _O(False, "--all", help="Use every row of each file, not only the questions all files share."),
    rescore: bool = _O(False, help="Re-parse short answers from the raw replies with the current parser first."),
    dataset: str = _O(None, help="Where --rescore finds the gold answers (default: the dataset named in the rows)."),
) -> None:
    """Print a Markdown comparison of QA methods (EM, F1, acc, sp recall, compute per question)."""
    from ponder.evals.qa import compare_table

    table, _ = compare_table(files, common=not all_rows, rescore=rescore, dataset=dataset)
    print(table)


@qa_app.command("frontier")
def frontier_cmd(
    files: list[str] = typer.Argument(..., help="Results files of `ponder eval qa`, one per method and compute level."),
    baseline: str = _O("single", help="The run (file stem) the paired intervals compare against."),
    dataset: str = _O("hotpotqa", help="The dataset whose question order defines the splits."),
    split_at: int = _O(50, help="Settings were chosen on the questions before this one: report both parts and all."),
    png: str = _O(None, help="Write F1 against tokens per question (all questions) to this PNG."),
    full: bool = _O(False, help="One line per run and split instead of one per run."),
) -> None:
    """Print the compute-quality frontier (EM, F1, acc, tokens, seconds, paired 95% intervals)."""
    from ponder.evals.qa_frontier import compact, frontier, markdown, plot
    from ponder.retrieval.datasets import load_dataset

    ids = [it.id for it in load_dataset(dataset).items]
    splits = {f"first {split_at}": ids[:split_at], f"last {len(ids) - split_at}": ids[split_at:], f"all {len(ids)}": ids}
    rows = frontier(files, baseline=baseline, splits=splits)
    print(markdown(rows) if full else compact(rows, whole=f"all {len(ids)}"))
    if png:
        print(f"wrote {plot(rows, png, split=f'all {len(ids)}')}")


def register(app: typer.Typer) -> None:
    app.add_typer(qa_app, name="qa")
