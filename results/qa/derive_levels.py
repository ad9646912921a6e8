"""Lower compute levels of the nested scaling methods, read from the rows of their highest level.

The levels of ``vote`` (samples), ``vote-orders`` (orders) and ``notes`` (rounds) are nested: level
k runs exactly the first part of level K's computation (the greedy answer then the first samples;
the first orderings, greedy; the first rounds), so level k's candidates, answer and tokens are
those of a prefix of level K's logged candidates. ``forage`` is ``notes`` with a stop rule read off
the logged per-round signals. This script writes one file per derived level next to the measured
one (``"derived_from"`` in every row); answers, EM/F1/acc and tokens are exact (for ``vote``, the
first samples of a larger call are draws from the same distribution as a smaller call's); seconds
are the measured question's seconds scaled by the share of its tokens, an estimate.

    python results/qa/derive_levels.py [--weight W] [--gain G] [--coverage C]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ponder.files import JsonlWriter, read_jsonl  # noqa: E402
from ponder.graphs.qa_scaling import settled  # noqa: E402
from ponder.graphs.qa_signals import Candidate, vote  # noqa: E402
from ponder.retrieval.datasets import load_dataset  # noqa: E402
from ponder.retrieval.metrics import qa_metrics  # noqa: E402

HERE = Path(__file__).resolve().parent / os.environ.get("QA_SCALING", "scaling")  # scaling-prompt1: the first prompt


def candidates(row: dict) -> list[Candidate]:
    return [Candidate(c["answer"], c["raw"], c["source"], c["grounded"], c["tokens"]) for c in row["extra"]["votes"]]


def derive(row: dict, cands: list[Candidate], item, *, weight: float, rounds: list[dict] | None, source: str,
           level: dict) -> dict:
    chosen = vote(cands, ungrounded_weight=weight)
    winner = chosen.winner
    titles = row.get("evidence", [])
    if rounds is not None:  # the evidence of the rounds kept
        titles = list(dict.fromkeys(t for r in rounds for t in r.get("docs", [])))
    metrics = qa_metrics(winner.answer if winner else "", winner.raw if winner else "", item.answers,
                         item.supporting_titles, titles)
    full = sum(c["tokens"] for c in row["extra"]["votes"]) or 1
    tokens = sum(c.tokens for c in cands)
    # notes: one call and one retrieval per round; vote / vote-orders: the greedy call, then one
    # call for all the samples (or all the other orderings)
    usage = {"calls": len(cands) if rounds is not None else min(len(cands), 2), "tokens": tokens,
             "retrievals": len(rounds) if rounds is not None else 1}
    return {"id": row["id"], "kind": "qa", "strategy": "forage" if "stop" in level else row["strategy"],
            "model": row["model"], "dataset": row["dataset"], "settings": level, "derived_from": source,
            "success": bool(metrics["acc"]), "score": metrics["f1"], "metrics": metrics, "usage": usage,
            "seconds": round(row["seconds"] * tokens / full, 3), "prediction": winner.answer if winner else "",
            "raw": winner.raw if winner else "", "evidence": titles,
            "extra": {"agreement": round(chosen.agreement, 4), "grounded": bool(winner and winner.grounded),
                      "candidates": len(cands), **({"stop": level["stop"]} if "stop" in level else {})}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weight", type=float, default=0.25, help="the vote weight of an ungrounded answer")
    ap.add_argument("--coverage", type=float, default=0.6, help="forage: the question coverage that allows stopping")
    args = ap.parse_args()
    items = {it.id: it for it in load_dataset("hotpotqa").items}
    plans = [("vote-samples-5.jsonl", "samples", (1, 3)), ("vote-orders-orders-3.jsonl", "orders", (1, 2)),
             ("notes-rounds-3.jsonl", "rounds", (1, 2)), ("notes-rounds-1-orders-3.jsonl", "orders", (1, 2))]
    for name, setting, levels in plans:
        path = HERE / name
        if not path.exists():
            continue
        rows = [r for r in read_jsonl(path) if r.get("extra", {}).get("votes")]
        method = name.removesuffix(".jsonl").rsplit(f"-{setting}-", 1)[0]
        outs = {lv: [] for lv in levels}
        forage = {g: [] for g in (0.2, 0.1, 0.05)} if method == "notes" else {}
        for row in rows:
            cands = candidates(row)
            rounds = row["extra"]["rounds"] if method == "notes" else None
            for lv in levels:
                outs[lv].append(derive(row, cands[:lv], items[row["id"]], weight=args.weight,
                                       rounds=rounds[:lv] if rounds is not None else None, source=name, level={setting: lv}))
            for gain in forage:
                kept, why = len(rounds), f"rounds ({len(rounds)})"
                for r in range(2, len(rounds) + 1):
                    why_r = settled(rounds[r - 1], r, gain_threshold=gain, coverage_min=args.coverage)
                    if why_r:
                        kept, why = r, why_r
                        break
                forage[gain].append(derive(row, cands[:kept], items[row["id"]], weight=args.weight, rounds=rounds[:kept],
                                           source=name, level={"gain_threshold": gain, "stop": why}))
        for lv, out in outs.items():
            _write(HERE / f"{method}-{setting}-{lv}.jsonl", out)
        for gain, out in forage.items():
            _write(HERE / f"forage-gain_threshold-{gain}.jsonl", out)


def _write(path: Path, rows: list[dict]) -> None:
    path.unlink(missing_ok=True)
    writer = JsonlWriter(path, fsync=False)
    for r in rows:
        writer.write(r)
    print(f"{path.name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
