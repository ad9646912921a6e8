"""``ponder bench retrieval``: embedding throughput of the shipped embedder against plain
sentence-transformers fp32 (same passages, same run, timed in alternating blocks so machine
noise hits both alike), the recall cost of the fast path, and query latency and load time of an
index of >= 10,000 passages (the HotpotQA passages plus deterministic synthetic ones of similar
length; built once and cached under the user cache dir, since embedding 10k passages takes
minutes on two cores).

Options (``--set k=v``): ``data`` (the HotpotQA folder), ``passages`` (index size, default
10000), ``blocks`` (timing blocks, default 4).
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

import numpy as np

from ponder.retrieval.datasets import default_data_dir, load_hotpotqa
from ponder.retrieval.documents import Document, doc_id_for


def _recall_at(vectors: np.ndarray, titles: list[str], queries: np.ndarray, gold: list[tuple[str, ...]], k: int = 5) -> float:
    scores = queries @ vectors.T
    top = np.argsort(-scores, axis=1)[:, :k]
    recalls = []
    for row, g in zip(top, gold, strict=True):
        found = {titles[i] for i in row}
        recalls.append(len(found & set(g)) / len(g) if g else 1.0)
    return float(np.mean(recalls))


def synthetic_passages(corpus: list[Document], n: int, seed: int = 0) -> list[Document]:
    """``n`` deterministic passages of HotpotQA-like length: sentences drawn from the corpus and
    with their words reshuffled, under made-up titles."""
    rng = random.Random(seed)
    sentences = [s.strip() + "." for d in corpus for s in d.text.split(". ") if len(s.split()) > 4]
    lengths = [len(d.text.split()) for d in corpus]
    out = []
    for i in range(n):
        target = rng.choice(lengths)
        words: list[str] = []
        while len(words) < target:
            sentence = rng.choice(sentences).split()
            rng.shuffle(sentence)
            words.extend(sentence)
        title = f"Synthetic passage {i}"
        out.append(Document(doc_id_for(f"synthetic:{seed}:{i}"), title, " ".join(words[:target]), f"synthetic:{i}"))
    return out


def _p50_ms(fn, queries: list[str]) -> float:
    times = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(*, quick: bool = False, data: str | None = None, passages: str | int = 10000, blocks: str | int = 4, **_: str) -> dict:
    from ponder.evals.qa import index_cache_dir
    from ponder.retrieval import Embedder, chunk_documents
    from ponder.retrieval.dense import DenseIndex
    from ponder.retrieval.hybrid import HybridIndex
    from ponder.retrieval.index import open_index

    folder = Path(data) if data else default_data_dir() / "hotpotqa"
    dataset = load_hotpotqa(folder)
    docs = dataset.passages[:200] if quick else dataset.passages
    chunks = chunk_documents(docs, size=2000, overlap=200)  # one chunk per passage but the longest
    texts = [DenseIndex.passage_text(c) for c in chunks]
    titles = [c.title for c in chunks]
    questions = [it.question for it in dataset.items]
    gold = [it.supporting_titles for it in dataset.items]

    fast = Embedder()  # the default as shipped
    ref = Embedder(backend="torch")  # plain sentence-transformers fp32
    for e in (fast, ref):
        e.encode(texts[:16])  # load and warm up
    n_blocks = max(1, int(blocks))
    edges = np.linspace(0, len(texts), n_blocks + 1).astype(int)
    t_fast = t_ref = 0.0
    fast_vecs, ref_vecs = [], []
    for b in range(n_blocks):
        block = texts[edges[b]:edges[b + 1]]
        order = (("ref", ref), ("fast", fast)) if b % 2 == 0 else (("fast", fast), ("ref", ref))
        for name, emb in order:
            start = time.perf_counter()
            vecs = emb.encode(block)
            elapsed = time.perf_counter() - start
            if name == "fast":
                t_fast += elapsed
                fast_vecs.append(vecs)
            else:
                t_ref += elapsed
                ref_vecs.append(vecs)
    fast_v, ref_v = np.concatenate(fast_vecs), np.concatenate(ref_vecs)
    metrics: dict[str, float | int | str] = {
        "embedder_backend": fast.backend,
        "passages_embedded": len(texts),
        "embed_passages_per_s": round(len(texts) / t_fast, 2),
        "fp32_passages_per_s": round(len(texts) / t_ref, 2),
        "embed_speedup_vs_fp32": round(t_ref / t_fast, 3),
        "mean_cosine_vs_fp32": round(float((fast_v * ref_v).sum(axis=1).mean()), 5),
    }
    if not quick:
        r_fast = _recall_at(fast_v, titles, fast.encode(questions), gold)
        r_ref = _recall_at(ref_v, titles, ref.encode(questions), gold)
        metrics.update(recall_at5=round(r_fast, 4), recall_at5_fp32=round(r_ref, 4), recall_at5_delta=round(r_fast - r_ref, 4))

    # the large index: built once (cached), then loaded and queried
    size = 2000 if quick else max(int(passages), len(dataset.passages))
    cache = index_cache_dir() / f"bench-{size}-{fast.name}"
    if not (cache / "manifest.json").exists():
        corpus = list(dataset.passages) + synthetic_passages(dataset.passages, size - len(dataset.passages))
        big_chunks = chunk_documents(corpus, size=2000, overlap=200)
        big = HybridIndex(fast)
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task(f"building the {len(big_chunks)}-passage bench index (once)", total=len(big_chunks))
            for i in range(0, len(big_chunks), 256):
                big.add(big_chunks[i:i + 256])
                progress.advance(task, len(big_chunks[i:i + 256]))
        big.save(cache)
        del big
    start = time.perf_counter()
    hybrid = open_index(cache, fast)
    metrics["index_load_s"] = round(time.perf_counter() - start, 3)
    metrics["index_passages"] = len(hybrid)
    dense = hybrid.dense
    queries = questions[:50] if quick else questions
    fast.encode(queries[:4])
    hybrid.search(queries[0], 5)  # bm25 warm-up
    metrics["query_ms_p50"] = round(_p50_ms(lambda q: dense.search(q, 5), queries), 2)
    metrics["hybrid_query_ms_p50"] = round(_p50_ms(lambda q: hybrid.search(q, 5), queries), 2)
    return metrics
