"""First 50 only: an allocator whose first stage is the snapped greedy reply (no scoring), stopping
when the snap is grounded / grounded in the top passage / the question is yes-no or choice, else
escalating to ``span`` (rule ctx, weight 1, 1 passage). Run from the repository root."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
sys.path.insert(0, str(HERE.parent))

from span_levels import DOCS, FIRST, ITEMS, mean, replay  # noqa: E402

from ponder.files import read_jsonl  # noqa: E402
from ponder.graphs.qa_spans import passage_spans, question_kind  # noqa: E402
from ponder.retrieval.metrics import qa_metrics  # noqa: E402
from ponder.text import normalize_answer  # noqa: E402


def main() -> None:
    rows = [r for r in read_jsonl(HERE / "span-first50.jsonl") if r["id"] in FIRST]
    res: dict[str, list[tuple[float, int, bool]]] = {}
    for r in rows:
        item, hits = ITEMS[r["id"]], [DOCS[t] for t in r["evidence"]]
        snapped, kind = r["extra"]["snapped"], question_kind(ITEMS[r["id"]].question)
        key = normalize_answer(snapped)
        rules = {"grounded": kind != "open" or key in {normalize_answer(s) for s in passage_spans(hits)},
                 "grounded-top1": kind != "open" or key in {normalize_answer(s) for s in passage_spans(hits[:1])},
                 "closed": kind != "open", "never": False}
        one = replay(r, rule="ctx", weight=1.0, passages=1, samples=1)
        f1 = qa_metrics(snapped, snapped, item.answers, (), [])["f1"]
        for name, stop in rules.items():
            res.setdefault(name, []).append((f1 if stop else one["metrics"]["f1"],
                                             r["extra"]["tokens"]["replies"][0] if stop else one["tokens"], stop))
    for name, out in res.items():
        print(f"{name} stops {sum(s for _, _, s in out)} F1 {mean(f for f, _, _ in out):.3f} "
              f"tokens {mean(t for _, t, _ in out):.0f}")


if __name__ == "__main__":
    main()
