"""The retrieval part of ``ponder demo``: index a small embedded corpus and answer a question
over it, printing the answer with its evidence and usage."""

from __future__ import annotations

import time
from typing import Any

CORPUS = {
    "eiffel-tower.md": "# Eiffel Tower\n\nThe Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris. "
                       "It was built by the company of Gustave Eiffel and completed in 1889 for the World's Fair.",
    "gustave-eiffel.md": "# Gustave Eiffel\n\nGustave Eiffel was a French civil engineer, born in Dijon in 1832. "
                         "His company designed and built the Eiffel Tower and the frame of the Statue of Liberty.",
    "dijon.txt": "Dijon is a city in eastern France, the capital of the Burgundy region, known for its mustard.",
    "statue-of-liberty.txt": "The Statue of Liberty stands on Liberty Island in New York Harbor. It was a gift from France, "
                             "dedicated in 1886.",
    "mustard.html": "<html><head><title>Dijon mustard</title></head><body><p>Dijon mustard was first made in 1856 "
                    "by Jean Naigeon of Dijon.</p></body></html>",
    "louvre.txt": "The Louvre in Paris is the world's most-visited art museum and home of the Mona Lisa.",
}
QUESTION = "In which city was the engineer whose company built the Eiffel Tower born?"


def _embedder():
    """The shipped fast embedder when its ONNX export is cached; otherwise plain
    sentence-transformers, so the demo never waits for the one-time export."""
    from ponder.retrieval.embedder import Embedder, _model_key, embedder_cache_dir

    fast = Embedder()
    if fast.backend == "onnx-int8":
        target = embedder_cache_dir() / f"{fast.name}-{_model_key(fast.path)}"
        if (target / "model-int8.onnx").exists():
            return fast
    return Embedder(backend="torch")


def qa_demo(console: Any, model_name: str | None = None, *, method: str = "single") -> dict:
    """Index :data:`CORPUS` (hybrid: dense + BM25) and answer :data:`QUESTION`; returns the
    result as a dict."""
    from rich.markup import escape

    from ponder.graphs.qa_methods import answer_question
    from ponder.models.registry import load_model
    from ponder.retrieval import HybridIndex, chunk_documents, read_document

    start = time.perf_counter()
    docs = [read_document(name, text, source=name) for name, text in CORPUS.items()]
    index = HybridIndex(_embedder())
    index.add(chunk_documents(docs), documents=docs)
    model = load_model(model_name)
    console.print(f"[bold]Retrieval QA[/] over {len(docs)} documents ({index.embedder.name}, {index.embedder.backend}; "
                  f"hybrid dense + BM25), method {method}, model {model.name}")
    console.print(f"  question: {QUESTION}", highlight=False)
    result = answer_question(QUESTION, index, method=method, model=model, top_k=3)
    console.print(f"  answer: [bold]{escape(result.answer) or '(none)'}[/]", highlight=False)
    for h in result.evidence:
        console.print(f"  evidence {h.rank}: [cyan]{escape(h.chunk.title)}[/] ({escape(index.source(h.chunk.doc_id))}, "
                      f"chars {h.chunk.start}-{h.chunk.end}): {escape(h.chunk.text[:90])}...", highlight=False)
    u = result.usage.to_dict()
    console.print(f"  usage: {u['calls']} calls, {u['tokens']} tokens, {u['retrievals']} retrievals; "
                  f"{time.perf_counter() - start:.1f} s in all", highlight=False)
    return result.to_dict()
