"""Issue 15, fourth session: a first stage that needs no scoring call. The candidates' support
(``qa_spans.span_support``) is text, not model, so the greedy reply plus a support pick costs what
``single`` costs. Replayed exactly from the measured top ``span`` run's rows (passages 5, 3 replies).

Rules (stage 1 = the greedy reply; its snap and the top-``passages`` candidates ranked by support,
the replies' vote breaking ties; yes/no and choice questions answer with the snap):

- ``support-only``: always stop at stage 1 (a fixed method at ``single``'s tokens);
- ``agree``: stop when the support pick is the greedy reply's own snap, else escalate to ``span``
  (scoring, at the chosen defaults: passages 3, support weight 50), paying its scoring call;
- ``closed``: stop only for yes/no and choice questions; ``never``: always ``span``.

    python results/qa/span-study/support_first_stage.py            # first 50: choose
    python results/qa/span-study/support_first_stage.py --all      # the chosen rule on all 100
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
sys.path.insert(0, str(HERE.parent))

from span_levels import DOCS, FIRST, ITEMS, mean, replay  # noqa: E402

from ponder.files import read_jsonl  # noqa: E402
from ponder.graphs.qa_extract import candidate_spans  # noqa: E402
from ponder.graphs.qa_spans import span_support  # noqa: E402
from ponder.retrieval.metrics import qa_metrics  # noqa: E402
from ponder.text import normalize_answer  # noqa: E402

SCALING = HERE.parent / "scaling" / "span-passages-5-samples-3.jsonl"
PASSAGES, SUPPORT = 3, 50.0


def stage_one(row: dict, passages: int) -> tuple[str, bool]:
    """The support pick of a row's greedy reply and top-``passages`` candidates, and whether it
    is the reply's own snap."""
    item, extra = ITEMS[row["id"]], row["extra"]
    hits = [DOCS[t] for t in row["evidence"] if t in DOCS]
    snapped = extra["snapped"]
    if extra["kind"] != "open":
        return snapped, True
    texts, named = candidate_spans(item.question, hits, extra["replies"][:1], passages=passages)
    if not texts:
        return snapped, True
    pick = max(texts, key=lambda t: (span_support(item.question, t, hits), named.get(normalize_answer(t), 0.0)))
    return pick, normalize_answer(pick) == normalize_answer(snapped)


def main() -> None:
    everything = "--all" in sys.argv
    rows = [r for r in read_jsonl(SCALING) if (everything or r["id"] in FIRST) and r["extra"].get("spans") is not None]
    print(f"{'all 100' if everything else 'first 50 only'}: {len(rows)} rows; escalation = span at passages "
          f"{PASSAGES}, support weight {SUPPORT:g}")
    print("| rule | passages of stage 1 | stops | EM | F1 | acc | tokens/q | F1 first 50 | F1 last 50 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for p in (1, 3, 5):
        for name in ("support-only", "agree", "closed", "never"):
            out = []
            for r in rows:
                item = ITEMS[r["id"]]
                pick, agrees = stage_one(r, p)
                stop = {"support-only": True, "agree": agrees, "closed": r["extra"]["kind"] != "open",
                        "never": False}[name]
                greedy = r["extra"]["tokens"]["replies"][0]
                if stop:
                    m, tokens = qa_metrics(pick, pick, item.answers, (), []), greedy
                else:
                    full = replay(r, rule="ctx", weight=1.0, passages=PASSAGES, samples=1, support=SUPPORT)
                    m, tokens = full["metrics"], full["tokens"]
                out.append((r["id"] in FIRST, stop, m, tokens))
            f1 = {part: mean(m["f1"] for first, _, m, _ in out if first == part) for part in (True, False)}
            last = f"{f1[False]:.3f}" if everything else ""
            print(f"| {name} | {p} | {sum(s for _, s, _, _ in out)} | {mean(m['em'] for *_, m, _ in out):.3f} | "
                  f"{mean(m['f1'] for *_, m, _ in out):.3f} | {mean(m['acc'] for *_, m, _ in out):.3f} | "
                  f"{mean(t for *_, t in out):.0f} | {f1[True]:.3f} | {last} |")


if __name__ == "__main__":
    main()
