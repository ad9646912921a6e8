"""Issue 15, fourth session: an allocator over retrieval depth, replayed from the measured
``span`` rows at top_k 1 and 3 (``results/qa/scaling/span-top-k-{1,3}.jsonl``). Stage 1 is
``span`` over the top passage; a question escalates to ``span`` over the top 3 (a new prompt:
both calls are paid) when a confidence signal is below ``tau``: ``support`` (the share of the
question in the sentence naming the answer; yes/no and choice questions stop) or ``coverage``
(the share of the question's content words in the top passage, the information-foraging
signal). First 50 only unless ``--all``.

    python results/qa/span-study/depth_allocator.py [--all]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
sys.path.insert(0, str(HERE.parent))

from span_levels import DOCS, FIRST, ITEMS, mean  # noqa: E402

from ponder.files import read_jsonl  # noqa: E402
from ponder.graphs.qa_signals import question_coverage  # noqa: E402

SCALING = HERE.parent / "scaling"
TAUS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 1.01)


def tokens(row: dict) -> int:
    return row["usage"]["prompt_tokens"] + row["usage"]["completion_tokens"]


def answer_support(row: dict) -> float:
    return next((s["support"] for s in row["extra"]["spans"] if s["text"] == row["prediction"]), 0.0)


def main() -> None:
    everything = "--all" in sys.argv
    one, three = ({r["id"]: r for r in read_jsonl(SCALING / f"span-top-k-{k}.jsonl")} for k in (1, 3))
    ids = [i for i in one if everything or i in FIRST]
    print(f"{'all 100' if everything else 'first 50 only'}: top_k 1 alone F1 {mean(one[i]['metrics']['f1'] for i in ids):.3f} "
          f"at {mean(tokens(one[i]) for i in ids):.0f} tokens/q; top_k 3 alone "
          f"{mean(three[i]['metrics']['f1'] for i in ids):.3f} at {mean(tokens(three[i]) for i in ids):.0f}")
    signals = {
        "support": lambda r: 1.0 if r["extra"]["kind"] != "open" else answer_support(r),
        "coverage": lambda r: question_coverage(ITEMS[r["id"]].question, [DOCS[t] for t in r["evidence"] if t in DOCS]),
    }
    print("| signal | tau | escalated | F1 | tokens/q |")
    print("|---|---|---|---|---|")
    for (name, signal), tau in ((kv, t) for kv in signals.items() for t in TAUS):
        out = []
        for i in ids:
            stop = signal(one[i]) >= tau
            out.append((one[i]["metrics"]["f1"], tokens(one[i]), False) if stop else
                       (three[i]["metrics"]["f1"], tokens(one[i]) + tokens(three[i]), True))
        print(f"| {name} | {tau:g} | {sum(e for *_, e in out)} | {mean(f for f, _, _ in out):.3f} | "
              f"{mean(t for _, t, _ in out):.0f} |")


if __name__ == "__main__":
    main()
