"""Issue 15, offline (no model): how often the gold answer is in the top-5 passages (the ceiling of
extraction), and what snapping logged replies to grounded spans (:func:`ponder.graphs.qa_spans.snap`)
does to EM/F1/acc. FIRST 50 QUESTIONS ONLY unless ``--part last`` / ``all`` is asked for (the rules
are chosen on the first 50; the last 50 are only reported after the choice).

    python results/qa/span_study.py [--part first|last|all] [FILE.jsonl ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ponder.files import read_jsonl  # noqa: E402
from ponder.graphs.qa_spans import passage_spans, question_kind, snap  # noqa: E402
from ponder.retrieval.datasets import load_dataset  # noqa: E402
from ponder.retrieval.metrics import qa_metrics  # noqa: E402
from ponder.text import normalize_answer  # noqa: E402

HERE = Path(__file__).resolve().parent / "scaling"
RULES = ("last", "first", "longest", "shortest")


def part_ids(part: str) -> list[str]:
    items = load_dataset("hotpotqa").items
    return [it.id for it in {"first": items[:50], "last": items[50:], "all": items}[part]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", default="first", choices=("first", "last", "all"))
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    data = load_dataset("hotpotqa")
    items = {it.id: it for it in data.items}
    docs = {d.title: d for d in data.passages}
    ids = part_ids(args.part)
    files = [Path(f) for f in args.files] or [HERE / n for n in (
        "single.jsonl", "vote-samples-5.jsonl", "notes-rounds-1-orders-3.jsonl", "notes-rounds-3.jsonl")]
    # the ceiling: the gold answer occurs in the top-5 passages of single-shot's retrieval
    single = {r["id"]: r for r in read_jsonl(HERE / "single.jsonl")}
    inside = 0
    kinds: dict[str, int] = {}
    for qid in ids:
        passages = [docs[t] for t in single[qid]["evidence"] if t in docs]
        text = " " + " ".join(normalize_answer(f"{d.title} {d.text}") for d in passages) + " "
        gold = items[qid].answers
        kind = question_kind(items[qid].question)
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind != "open" or any(f" {normalize_answer(g)} " in text for g in gold):
            inside += 1
        span_hit = any(normalize_answer(s) == normalize_answer(g) for s in passage_spans(passages) for g in gold)
        kinds["open_gold_is_a_span"] = kinds.get("open_gold_is_a_span", 0) + (kind == "open" and span_hit)
    print(f"{args.part} {len(ids)}: gold in the top-5 passages (or yes/no/choice) {inside}/{len(ids)}; kinds {kinds}")
    print("| file | EM | F1 | acc | snap rule | EM | F1 | acc (output = span) |")
    print("|---|---|---|---|---|---|---|---|")
    for path in files:
        rows = {r["id"]: r for r in read_jsonl(path)}
        got = [q for q in ids if q in rows]
        if not got:
            continue
        base = [rows[q]["metrics"] for q in got]
        line = [f"{sum(m[k] for m in base) / len(got):.3f}" for k in ("em", "f1", "acc")]
        for rule in RULES:
            ms = []
            for q in got:
                r, it = rows[q], items[q]
                passages = [docs[t] for t in r.get("evidence", single[q]["evidence"]) if t in docs]
                span = snap(r.get("raw", "") or r.get("prediction", ""), it.question, passages, rule=rule)
                ms.append(qa_metrics(span, span, it.answers, it.supporting_titles, []))
            after = [f"{sum(m[k] for m in ms) / len(got):.3f}" for k in ("em", "f1", "acc")]
            print(f"| {path.name} ({len(got)}) | {' | '.join(line)} | {rule} | {' | '.join(after)} |")


if __name__ == "__main__":
    main()
