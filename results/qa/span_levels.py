"""Issue 15, ``span``: choose the scoring rule and the levels on the FIRST 50 questions, and derive
the lower compute levels from the rows of the top level.

Every candidate of a ``span`` row is logged with its scores (with and without the passages), so
any rule, reply weight, number of passages whose spans are scored (``passages``) and number of
replies (``samples``) below the measured ones can be replayed exactly: a level's candidates are
:func:`~ponder.graphs.qa_extract.candidate_spans` of its passages and replies (all of them scored
in the top-level run), its tokens the replies' tokens plus the scoring prompts and its candidates'
tokens. Seconds are the measured question's seconds scaled by the share of tokens (an estimate).

    python results/qa/span_levels.py choose FILE.jsonl          # grid on the first 50 questions only
    python results/qa/span_levels.py support FILE.jsonl --rule ctx --weight 1   # the support weight, likewise
    python results/qa/span_levels.py snap                        # single + snap rows (no extra compute)
    python results/qa/span_levels.py derive FILE.jsonl           # level files next to FILE
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from derive_levels import _write  # noqa: E402  (a sibling script: the one writer of level files)

from ponder.files import read_jsonl  # noqa: E402
from ponder.graphs.qa_extract import RULES, Scored, candidate_spans, choose  # noqa: E402
from ponder.graphs.qa_spans import snap, span_support  # noqa: E402
from ponder.retrieval.datasets import load_dataset  # noqa: E402
from ponder.retrieval.metrics import qa_metrics  # noqa: E402
from ponder.text import normalize_answer  # noqa: E402

HERE = Path(__file__).resolve().parent / "scaling"
WEIGHTS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 1000.0)
DATA = load_dataset("hotpotqa")
ITEMS = {it.id: it for it in DATA.items}
DOCS = {d.title: d for d in DATA.passages}
FIRST = {it.id for it in DATA.items[:50]}


def replay(row: dict, *, rule: str, weight: float, passages: int, samples: int, support: float = 0.0) -> dict:
    """The answer, tokens and metrics of ``row`` at a lower level / another rule (``support``:
    the support weight; a candidate's support is recomputed from the passages, no model needed)."""
    item, extra = ITEMS[row["id"]], row["extra"]
    hits = [DOCS[t] for t in row["evidence"] if t in DOCS]
    replies = extra["replies"][:samples]
    texts, named = candidate_spans(item.question, hits, replies, passages=passages)
    logged = {normalize_answer(s["text"]): s for s in extra["spans"]}
    scored = [Scored(t, logged[k]["ctx"], logged[k]["prior"], logged[k]["tokens"], named.get(k, 0.0),
                     span_support(item.question, t, hits))
              for t in texts if (k := normalize_answer(t)) in logged]
    best, margin = choose(scored, rule, weight, support)
    snapped = snap(replies[0], item.question, hits)
    answer = best.text if best else snapped
    tok = extra["tokens"]
    tokens = sum(tok["replies"][:samples])
    if scored:
        tokens += tok["ctx_prompt"] + sum(s.tokens for s in scored)
        if rule.startswith("pmi"):
            tokens += tok["prior_prompt"] + sum(s.tokens for s in scored)
    metrics = qa_metrics(answer, answer, item.answers, item.supporting_titles, row["evidence"])
    return {"answer": answer, "tokens": tokens, "metrics": metrics, "margin": margin, "candidates": len(scored),
            "agrees": bool(best) and normalize_answer(best.text) == normalize_answer(snapped),
            "calls": (1 if samples == 1 else 2) + (bool(scored) + (bool(scored) and rule.startswith("pmi")))}


def mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else 0.0


SUPPORTS = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 1000.0)  # 50 and 1000 added when 20 was best


def cmd_choose(path: Path, rules=RULES, weights=WEIGHTS, supports=(0.0,)) -> None:
    """The grid of rules x reply weights x support weights x levels, on the first 50 only (the
    support weights, fourth session: at the chosen rule and reply weight)."""
    rows = [r for r in read_jsonl(path) if r["id"] in FIRST and r.get("extra", {}).get("spans") is not None]
    top_p, top_s = rows[0]["settings"].get("passages", 5), rows[0]["settings"].get("samples", 1)
    print(f"first 50 only: {len(rows)} rows of {path.name}")
    print("| rule | reply weight | support weight | passages | samples | EM | F1 | acc | tokens/q |")
    print("|---|---|---|---|---|---|---|---|---|")
    for rule in rules:
        for weight in weights:
            for support in supports:
                for p in sorted({1, 3, top_p}):
                    for s in sorted({1, top_s}):
                        out = [replay(r, rule=rule, weight=weight, passages=p, samples=s, support=support)
                               for r in rows]
                        m = {k: mean(o["metrics"][k] for o in out) for k in ("em", "f1", "acc")}
                        print(f"| {rule} | {weight:g} | {support:g} | {p} | {s} | {m['em']:.3f} | {m['f1']:.3f} | "
                              f"{m['acc']:.3f} | {mean(o['tokens'] for o in out):.0f} |")


def auto(row: dict, *, rule: str, weight: float, first: int, passages: int, samples: int, margin_min: float,
         support: float = 0.0) -> dict:
    """The ``auto`` span ladder replayed: stage 1 (spans of the top ``first`` passages, the greedy
    reply), escalated to (``passages``, ``samples``) unless the best candidate is the greedy reply's
    span and leads by ``margin_min``; the escalation pays for its samples, the new candidates and
    the two scoring prompts again."""
    one = replay(row, rule=rule, weight=weight, passages=first, samples=1, support=support)
    if one["agrees"] and one["margin"] >= margin_min:
        return {**one, "escalated": False}
    top = replay(row, rule=rule, weight=weight, passages=passages, samples=samples, support=support)
    tok = row["extra"]["tokens"]
    again = tok["ctx_prompt"] + (tok["prior_prompt"] if rule.startswith("pmi") else 0) if one["candidates"] else 0
    return {**top, "tokens": top["tokens"] + again, "calls": top["calls"] + one["calls"] - 1, "escalated": True}


def cmd_allocate(path: Path, rule: str, weight: float, first: int, passages: int, samples: int,
                 support: float = 0.0) -> None:
    rows = [r for r in read_jsonl(path) if r["id"] in FIRST and r.get("extra", {}).get("spans") is not None]
    print(f"first 50 only: {len(rows)} rows; stage 1 = {first} passage(s), escalation = {passages} x {samples}")
    print("| margin_min | escalated | EM | F1 | acc | tokens/q |")
    print("|---|---|---|---|---|---|")
    for m in (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, float("inf")):
        out = [auto(r, rule=rule, weight=weight, first=first, passages=passages, samples=samples, margin_min=m,
                    support=support) for r in rows]
        ms = {k: mean(o["metrics"][k] for o in out) for k in ("em", "f1", "acc")}
        print(f"| {m:g} | {sum(o['escalated'] for o in out)} | {ms['em']:.3f} | {ms['f1']:.3f} | {ms['acc']:.3f} | "
              f"{mean(o['tokens'] for o in out):.0f} |")


def cmd_snap() -> None:
    """``single`` with its reply snapped to a grounded span: zero extra compute."""
    out = []
    for row in read_jsonl(HERE / "single.jsonl"):
        item = ITEMS[row["id"]]
        hits = [DOCS[t] for t in row.get("evidence", []) if t in DOCS]
        answer = snap(row.get("raw", ""), item.question, hits)
        metrics = qa_metrics(answer, answer, item.answers, item.supporting_titles, row.get("evidence", []))
        out.append({**row, "strategy": "single", "settings": {"snap": "first"}, "derived_from": "single.jsonl",
                    "prediction": answer, "raw": answer, "metrics": metrics, "score": metrics["f1"],
                    "success": bool(metrics["acc"]), "extra": {"reply": row.get("raw", "")}})
    _write(HERE / "single-snap.jsonl", out)


def _tag(support: float) -> str:
    """The file-name part of a non-zero support weight (the run_scaling.sh naming)."""
    return f"-support_weight-{support:g}" if support else ""


def cmd_derive(path: Path, rule: str, weight: float, levels: list[tuple[int, int]], support: float = 0.0) -> None:
    rows = [r for r in read_jsonl(path) if r.get("extra", {}).get("spans") is not None]
    for p, s in levels:
        out = []
        for row in rows:
            got = replay(row, rule=rule, weight=weight, passages=p, samples=s, support=support)
            full = row["usage"].get("tokens") or 1
            out.append({"id": row["id"], "kind": "qa", "strategy": "span", "model": row["model"],
                        "dataset": row["dataset"], "settings": {"passages": p, "samples": s, "rule": rule,
                                                                "reply_weight": weight, "support_weight": support},
                        "derived_from": path.name, "success": bool(got["metrics"]["acc"]),
                        "score": got["metrics"]["f1"], "metrics": got["metrics"],
                        "usage": {"calls": got["calls"], "tokens": got["tokens"], "retrievals": 1},
                        "seconds": round(row["seconds"] * got["tokens"] / full, 3), "prediction": got["answer"],
                        "raw": got["answer"], "evidence": row["evidence"],
                        "extra": {"margin": got["margin"], "greedy_agrees": got["agrees"],
                                  "candidates": got["candidates"]}})
        _write(path.parent / f"span{_tag(support)}-passages-{p}-samples-{s}.jsonl", out)


def cmd_derive_auto(path: Path, rule: str, weight: float, first: int, passages: int, samples: int,
                    margin_min: float, support: float = 0.0) -> None:
    """``auto`` with ``first=span`` replayed on the top level's rows (its stages are prefixes of it)."""
    rows = [r for r in read_jsonl(path) if r.get("extra", {}).get("spans") is not None]
    out = []
    for row in rows:
        got = auto(row, rule=rule, weight=weight, first=first, passages=passages, samples=samples, margin_min=margin_min,
                   support=support)
        full = row["usage"].get("tokens") or 1
        out.append({"id": row["id"], "kind": "qa", "strategy": "auto", "model": row["model"], "dataset": row["dataset"],
                    "settings": {"first": "span", "span_first": first, "span_passages": passages,
                                 "span_samples": samples, "margin_min": margin_min, "support_weight": support},
                    "derived_from": path.name, "success": bool(got["metrics"]["acc"]), "score": got["metrics"]["f1"],
                    "metrics": got["metrics"], "usage": {"calls": got["calls"], "tokens": got["tokens"], "retrievals": 1},
                    "seconds": round(row["seconds"] * got["tokens"] / full, 3), "prediction": got["answer"],
                    "raw": got["answer"], "evidence": row["evidence"],
                    "extra": {"escalated": got["escalated"], "margin": got["margin"]}})
    _write(path.parent / f"auto-first-span{_tag(support)}.jsonl", out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=("choose", "support", "snap", "derive", "allocate"))
    ap.add_argument("file", nargs="?")
    ap.add_argument("--rule", default="pmi")
    ap.add_argument("--weight", type=float, default=2.0)
    ap.add_argument("--levels", default="1:1,3:1,5:1", help="passages:samples,...")
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--margin-min", type=float, default=0.0)
    ap.add_argument("--top", default="5:3", help="the escalation's passages:samples")
    ap.add_argument("--support", type=float, default=0.0, help="the support weight (derive, allocate)")
    args = ap.parse_args()
    if args.cmd == "choose":
        cmd_choose(Path(args.file))
    elif args.cmd == "support":
        cmd_choose(Path(args.file), (args.rule,), (args.weight,), SUPPORTS)
    elif args.cmd == "allocate":
        p, s = (int(x) for x in args.top.split(":"))
        cmd_allocate(Path(args.file), args.rule, args.weight, args.first, p, s, args.support)
    elif args.cmd == "snap":
        cmd_snap()
    else:
        levels = [tuple(int(x) for x in lv.split(":")) for lv in args.levels.split(",")]
        cmd_derive(Path(args.file), args.rule, args.weight, levels, args.support)
        p, s = (int(x) for x in args.top.split(":"))
        cmd_derive_auto(Path(args.file), args.rule, args.weight, args.first, p, s, args.margin_min, args.support)


if __name__ == "__main__":
    main()
