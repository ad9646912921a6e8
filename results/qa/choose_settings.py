"""Choose the vote weight and the allocator's settings on the FIRST 50 HotpotQA questions only.

Reads the logged candidates and per-round signals of ``notes-rounds-3`` and
``notes-rounds-1-orders-3`` and replays, exactly, what the notes-first allocator would have done with each setting
(its rounds are the same greedy computation as the ``notes`` method's rounds, so the replay's answers
and tokens are the real ones). Prints F1, acc and tokens per question for each setting; the last 50
questions are never read.

    python results/qa/choose_settings.py
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ponder.files import read_jsonl  # noqa: E402
from ponder.graphs.qa_signals import Candidate, vote  # noqa: E402
from ponder.retrieval.datasets import load_dataset  # noqa: E402
from ponder.retrieval.metrics import answer_in_output, f1_score  # noqa: E402

HERE = Path(__file__).resolve().parent / os.environ.get("QA_SCALING", "scaling")  # scaling-prompt1: the first prompt


def cands(row: dict) -> list[Candidate]:
    return [Candidate(c["answer"], c["raw"], c["source"], c["grounded"], c["tokens"]) for c in row["extra"]["votes"]]


def score(pick: Candidate | None, gold) -> tuple[float, float]:
    if pick is None:
        return 0.0, 0.0
    return f1_score(pick.answer, gold), answer_in_output(pick.raw, gold)


def main() -> None:
    items = load_dataset("hotpotqa").items
    first50 = {it.id: it for it in items[:50]}
    notes_file = HERE / "notes-rounds-3.jsonl"
    notes = [r for r in read_jsonl(notes_file) if r["id"] in first50] if notes_file.exists() else []
    print(f"notes rows on the first 50: {len(notes)}")
    for weight in (0.1, 0.25, 0.5, 1.0) if notes else ():
        for k in (1, 2, 3):
            f = a = 0.0
            for r in notes:
                fi, ai = score(vote(cands(r)[:k], ungrounded_weight=weight).winner, first50[r["id"]].answers)
                f, a = f + fi, a + ai
            print(f"notes rounds={k} weight={weight}: F1 {f / len(notes):.3f} acc {a / len(notes):.3f}")
    orders_file = HERE / "notes-rounds-1-orders-3.jsonl"
    if orders_file.exists():  # the notes round's answers over orderings 1, 2, 3 of the same context
        replay([r for r in read_jsonl(orders_file) if r["id"] in first50], first50,
               "orderings stage (max_rounds=0)", "extra_orders")
    if notes:
        replay(notes, first50, "rounds only", "max_rounds")


def ladder(cs: list[Candidate], coverage: float, *, cov: float, words: int, agree: float, steps: int) -> int:
    """How many of the candidates ``cs`` (in the allocator's order) the allocator asks for: stop
    after the first when it is confident, else after each further one when the vote agrees."""
    head = cs[0]
    if head.grounded and coverage >= cov and 0 < len(head.answer.split()) <= words:
        return 1
    n = 1
    for extra in range(1, min(steps, len(cs) - 1) + 1):
        n = 1 + extra
        chosen = vote(cs[:n])
        if chosen.agreement >= agree and chosen.winner and chosen.winner.grounded:
            break
    return n


def replay(rows: list[dict], first50: dict, stage: str, steps_name: str) -> None:
    """The notes-first allocator replayed on ``rows`` (their logged candidates, in the order the
    allocator would ask for them) for every setting; prints the 25 best by F1 on the first 50."""
    print(f"\nnotes-first allocator replay, {stage} (rows: {len(rows)}; coverage_min, max_words, agree_min, {steps_name}):")
    results = []
    for cov, words, agree, steps in itertools.product((0.0, 0.4, 0.6, 0.8), (3, 6, 10), (0.5, 0.6, 0.8, 1.01), (1, 2)):
        f = a = tok = 0.0
        for r in rows:
            cs = cands(r)
            n = ladder(cs, r["extra"]["rounds"][0]["coverage"], cov=cov, words=words, agree=agree, steps=steps)
            fi, ai = score(vote(cs[:n]).winner, first50[r["id"]].answers)
            f, a, tok = f + fi, a + ai, tok + sum(c.tokens for c in cs[:n])
        results.append((f / len(rows), a / len(rows), tok / len(rows), cov, words, agree, steps))
    for row in sorted(results, reverse=True)[:25]:
        print(("F1 {:.3f} acc {:.3f} tokens {:.0f}  coverage_min={} max_words={} agree_min={} " + steps_name + "={}").format(*row))


if __name__ == "__main__":
    main()
