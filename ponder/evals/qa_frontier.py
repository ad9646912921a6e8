"""A compute-quality frontier of QA runs: per run (a method at one compute level, one results file
of ``ponder eval qa``), EM, F1, acc, tokens and seconds per question, and paired bootstrap 95%
intervals of the F1 and acc differences against a baseline run, over chosen question splits
(e.g. the first 50 questions, on which settings were chosen, and the last 50, which were not
looked at); and a PNG of F1 against tokens per question, one line per method.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from pathlib import Path

from ponder.errors import ConfigError


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, resamples: int = 10_000, seed: int = 0) -> tuple[float, float, float]:
    """The mean of ``a - b`` (paired per question) and its percentile bootstrap 95% interval."""
    if len(a) != len(b) or not a:
        raise ConfigError(f"paired bootstrap needs two equally long non-empty lists, got {len(a)} and {len(b)}")
    diffs = [x - y for x, y in zip(a, b)]
    n = len(diffs)
    rng = random.Random(seed)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    return sum(diffs) / n, means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]


def _label(path: str | os.PathLike) -> str:
    return Path(path).stem


def _method(label: str) -> str:
    """The method of a run label ``METHOD-KEY-VALUE...``: the longest QA method name it starts
    with (``vote-orders-orders-3`` -> ``vote-orders``), else the label."""
    from ponder.graphs.qa_methods import METHODS

    found = [m for m in METHODS if label == m or label.startswith(f"{m}-")]
    method = max(found, key=len) if found else label
    # generated notes, and notes voted over orderings, are their own lines in the plot
    if label.endswith("-snap"):  # post-processing of the same replies, no extra compute
        return f"{method} + snap"
    if "-note-generated" in label:
        return f"{method} (generated notes)"
    if method == "span":  # the scoring rule and the knob swept are what set a span line apart
        if "-types" in label:  # links, typed candidates, focused reading (fifth session)
            return "span + links + types"
        if "-top-k-" in label:
            return "span + support, top-k"
        if "support_weight" in label:
            return "span + support"
        if "-orders-" in label:
            return "span + orders"
    if method == "auto" and label.endswith("-ladder"):
        return "auto (span ladder)"
    return f"{method} + orders" if method == "notes" and "-orders-" in label else method


def frontier(paths: Sequence[str | os.PathLike], *, baseline: str, splits: dict[str, Sequence[str]],
             resamples: int = 10_000) -> list[dict]:
    """One row per (run, split): questions, EM, F1, acc, tokens/q, seconds/q, and the paired F1
    and acc differences to ``baseline`` (a run label: a file stem) with 95% intervals. A split
    only counts questions every run answered (so runs are compared on the same questions)."""
    from ponder.evals.runner import read_rows

    runs = {_label(p): {r["id"]: r for r in read_rows(p)} for p in paths}
    if baseline not in runs:
        raise ConfigError(f"baseline {baseline!r} is not among the runs", hint=f"one of {', '.join(runs)}")
    out = []
    for split, ids in splits.items():
        common = [i for i in ids if all(i in rows for rows in runs.values())]
        if not common:
            continue
        base = runs[baseline]
        for label, rows in runs.items():
            sel = [rows[i] for i in common]
            n = len(sel)
            row = {"run": label, "method": _method(label), "split": split, "questions": n,
                   **{k: sum(r["metrics"][k] for r in sel) / n for k in ("em", "f1", "acc")},
                   "tokens": sum(r["usage"]["tokens"] for r in sel) / n,
                   "calls": sum(r["usage"]["calls"] for r in sel) / n,
                   "seconds": sum(r.get("seconds", 0.0) for r in sel) / n}
            for k in ("f1", "acc"):
                d, lo, hi = paired_bootstrap([r["metrics"][k] for r in sel], [base[i]["metrics"][k] for i in common],
                                             resamples=resamples)
                row[f"d_{k}"], row[f"d_{k}_lo"], row[f"d_{k}_hi"] = d, lo, hi
            out.append(row)
    return out


def markdown(rows: Sequence[dict]) -> str:
    """The frontier as a Markdown table."""
    lines = ["| run | split | q | EM | F1 | acc | tokens/q | calls/q | seconds/q | ΔF1 vs baseline [95% CI] | Δacc [95% CI] |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['split']} | {r['questions']} | {r['em']:.3f} | {r['f1']:.3f} | {r['acc']:.3f} | "
                     f"{r['tokens']:.0f} | {r['calls']:.2f} | {r['seconds']:.1f} | "
                     f"{r['d_f1']:+.3f} [{r['d_f1_lo']:+.3f}, {r['d_f1_hi']:+.3f}] | "
                     f"{r['d_acc']:+.3f} [{r['d_acc_lo']:+.3f}, {r['d_acc_hi']:+.3f}] |")
    return "\n".join(lines)


def compact(rows: Sequence[dict], *, whole: str) -> str:
    """One line per run: the ``whole`` split's EM, F1, acc, compute and intervals, with the F1
    (and its difference to the baseline) of every other split beside it."""
    others = [s for s in dict.fromkeys(r["split"] for r in rows) if s != whole]
    by = {(r["run"], r["split"]): r for r in rows}
    head = (["run", "tokens/q", "calls/q", "seconds/q", "EM", "F1", "acc", "ΔF1 [95% CI]", "Δacc [95% CI]"]
            + [f"F1 {s} (ΔF1 [95% CI])" for s in others])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for run in dict.fromkeys(r["run"] for r in rows if r["split"] == whole):
        r = by[(run, whole)]
        cells = [run, f"{r['tokens']:.0f}", f"{r['calls']:.2f}", f"{r['seconds']:.1f}", f"{r['em']:.3f}", f"{r['f1']:.3f}",
                 f"{r['acc']:.3f}", f"{r['d_f1']:+.3f} [{r['d_f1_lo']:+.3f}, {r['d_f1_hi']:+.3f}]",
                 f"{r['d_acc']:+.3f} [{r['d_acc_lo']:+.3f}, {r['d_acc_hi']:+.3f}]"]
        for s in others:
            o = by.get((run, s))
            cells.append(f"{o['f1']:.3f} ({o['d_f1']:+.3f} [{o['d_f1_lo']:+.3f}, {o['d_f1_hi']:+.3f}])" if o else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows: Sequence[dict], path: str | os.PathLike, *, split: str) -> Path:
    """F1 against tokens per question (log scale) for one split, a line per method through its levels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ponder.evals.report import CROWDED, marker, place_legend

    sel = [r for r in rows if r["split"] == split]
    methods = list(dict.fromkeys(r["method"] for r in sel))
    fig, ax = plt.subplots(figsize=(9, 4.5) if len(methods) > CROWDED else (7, 4.5))
    for i, method in enumerate(methods):
        pts = sorted((r["tokens"], r["f1"], r["run"]) for r in sel if r["method"] == method)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker(i), label=method)
        base = method.split(" ")[0]
        for x, y, label in pts:
            ax.annotate(label.removeprefix(base).strip("-") or method, (x, y), fontsize=6, xytext=(3, 3),
                        textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("tokens per question (prompt + completion, log scale)")
    ax.set_ylabel("F1")
    ax.set_title(f"QA compute-quality frontier, SmolLM2-135M, HotpotQA ({split})")
    ax.grid(alpha=0.3)
    place_legend(ax, len(methods))
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
