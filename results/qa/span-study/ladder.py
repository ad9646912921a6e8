"""Issue 15, fifth session: the ``span`` ladder of ``auto`` (``first=span``,
:func:`ponder.graphs.qa_allocator.run_auto_span`) replayed from the fixed runs it is made of, to
choose its thresholds on the FIRST 50 questions (then run for real on all 100).

The ladder's stages are the fixed runs' steps on the same candidates (same retrieval, links and
typed candidates): support alone (no model; the support of every candidate is logged), scoring
reading 2 (or 1) sentences of each passage, scoring reading the whole passages, the greedy reply.
A stage's tokens are its scoring prompt plus its candidates (or the reply's tokens), as measured in
the fixed run it replays.

    python results/qa/span-study/ladder.py            # first 50: the grid
    python results/qa/span-study/ladder.py --all      # the chosen thresholds on all 100 (first 50 / last 50)
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from ponder.files import read_jsonl  # noqa: E402
from ponder.graphs.qa_extract import Scored, choose  # noqa: E402
from ponder.retrieval.datasets import load_dataset  # noqa: E402
from ponder.retrieval.metrics import qa_metrics  # noqa: E402

SCALING = HERE.parent / "scaling"
BASE = "span-links-1-types"
DATA = load_dataset("hotpotqa")
ITEMS = {it.id: it for it in DATA.items}
ORDER = [it.id for it in DATA.items]


def runs(sentences: int) -> dict[str, dict[str, dict]]:
    """Rows by id of the fixed runs: ``read`` (scoring ``sentences`` per passage, no reply), ``whole``
    (scoring the whole passages, no reply), ``reply`` (the whole passages and the greedy reply)."""
    files = {"read": f"{BASE}-samples-0-sentences-{sentences}-top-k-3", "whole": f"{BASE}-samples-0-top-k-3",
             "reply": f"{BASE}-top-k-3"}
    return {k: {r["id"]: r for r in read_jsonl(SCALING / f"{f}.jsonl")} for k, f in files.items()}


def pick(row: dict, with_reply: bool) -> tuple[str | None, float]:
    extra = row["extra"]
    scored = [Scored(s["text"], s["ctx"], s["prior"], s["tokens"], s["named"] if with_reply else 0.0, s["support"])
              for s in extra["spans"]]
    best, margin = choose(scored, extra["rule"], extra["reply_weight"] if with_reply else 0.0, extra["support_weight"])
    return (best.text if best else None), margin


def cost(row: dict) -> int:
    tok = row["extra"]["tokens"]
    return tok["ctx_prompt"] + sum(s["tokens"] for s in row["extra"]["spans"])


def ladder(rows: dict[str, dict], qid: str, gap_min: float, margin_min: float, focused: bool) -> tuple[str, int, str]:
    """(answer, tokens, the stage it stopped at) of one question."""
    whole = rows["whole"][qid]
    spans = whole["extra"]["spans"]
    if whole["extra"]["kind"] == "open" and spans:
        support = sorted(((s["support"], s["text"]) for s in spans), key=lambda st: -st[0])
        gap = support[0][0] - (support[1][0] if len(support) > 1 else 0.0)
        if gap >= gap_min:
            return support[0][1], 0, "support"
    tokens = 0
    for stage in (("read", "whole") if focused else ("whole",)):
        row = rows[stage][qid]
        tokens += cost(row)
        answer, margin = pick(row, False)
        if answer is not None and margin >= margin_min:
            return answer, tokens, stage
    reply = rows["reply"][qid]
    answer, _ = pick(reply, True)
    return answer or reply["prediction"], tokens + reply["extra"]["tokens"]["replies"][0], "reply"


def f1(qid: str, answer: str) -> dict:
    it = ITEMS[qid]
    return qa_metrics(answer, answer, it.answers, it.supporting_titles, [])


def summary(rows, ids, gap_min, margin_min, focused):
    out = [ladder(rows, q, gap_min, margin_min, focused) for q in ids]
    n = len(ids)
    m = [f1(q, a) for q, (a, _, _) in zip(ids, out)]
    stages = {s: sum(o[2] == s for o in out) for s in ("support", "read", "whole", "reply")}
    return (sum(x["f1"] for x in m) / n, sum(x["em"] for x in m) / n, sum(x["acc"] for x in m) / n,
            sum(o[1] for o in out) / n, stages)


def fixed(rows: dict, ids) -> None:
    for name, key in (("read (no reply)", "read"), ("whole (no reply)", "whole"), ("whole + reply", "reply")):
        got = [rows[key][q] for q in ids]
        n = len(got)
        print(f"| fixed: {name} | | | {sum(r['metrics']['f1'] for r in got) / n:.3f} | "
              f"{sum(r['usage']['tokens'] for r in got) / n:.0f} | |")


def main() -> None:
    everything = "--all" in sys.argv
    for sentences in (1, 2):
        try:
            rows = runs(sentences)
        except FileNotFoundError as e:
            print(f"(sentences {sentences}: {e.filename} missing)")
            continue
        ids = [q for q in ORDER[: 100 if everything else 50] if all(q in r for r in rows.values())]
        print(f"\nsentences {sentences}: {len(ids)} questions ({'all' if everything else 'first 50 only'})")
        print("| support gap | margin | focused first | F1 | tokens/q | stops (support/read/whole/reply) |")
        print("|---|---|---|---|---|---|")
        fixed(rows, ids)
        grid = itertools.product((0.01, 0.05, 0.1, 0.2, 9.0), (0.0, 0.5, 1.0, 2.0, 3.0), (True, False))
        for gap_min, margin_min, focused in grid:
            f, em, acc, tok, st = summary(rows, ids, gap_min, margin_min, focused)
            print(f"| {gap_min:g} | {margin_min:g} | {focused} | {f:.3f} | {tok:.0f} | "
                  f"{st['support']}/{st['read']}/{st['whole']}/{st['reply']} |")


if __name__ == "__main__":
    main()
