"""``ponder report``: summarise results files into a table per (kind, strategy, model) with the
success rate and its Wilson 95% interval, mean compute per task (tokens, calls, environment
steps, seconds) and the mean of any numeric ``metrics`` entries (QA rows carry ``em``, ``f1``,
...), plus a PNG of success against compute (tokens per task)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from ponder.errors import ConfigError
from ponder.evals.runner import read_rows


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (95% by default)."""
    if n <= 0:
        return (0.0, 0.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at p = 0 or 1 the bound is exact (rounding would otherwise leave it a hair off)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(rows: Sequence[dict]) -> list[dict]:
    """One summary dict per (kind, label-or-strategy, model), in first-seen order."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(_group_key(r), []).append(r)
    out = []
    for (kind, strategy, model), rs in groups.items():
        n = len(rs)
        wins = sum(1 for r in rs if r.get("success"))
        lo, hi = wilson(wins, n)
        usage = [r.get("usage") or {} for r in rs]
        metrics: dict[str, list[float]] = {}
        for r in rs:
            for k, v in (r.get("metrics") or {}).items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    metrics.setdefault(k, []).append(float(v))
        out.append({
            "kind": kind, "strategy": strategy, "model": model, "n": n, "successes": wins,
            "success_rate": wins / n if n else 0.0, "ci_low": lo, "ci_high": hi,
            "errors": sum(1 for r in rs if r.get("error")),
            "mean_score": _mean([float(r.get("score") or 0.0) for r in rs]),
            "tokens": _mean([float(u.get("tokens", 0)) for u in usage]),
            "calls": _mean([float(u.get("calls", 0)) for u in usage]),
            "env_steps": _mean([float(u.get("env_steps", 0)) for u in usage]),
            "seconds": _mean([float(r.get("seconds") or 0.0) for r in rs]),
            "metrics": {k: sum(v) / len(v) for k, v in metrics.items()},
        })
    return out


def _group_key(r: dict) -> tuple:
    return (r.get("kind", "?"), r.get("label") or r.get("strategy", "?"), r.get("model", "?"))


def mcnemar_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs (a binomial test of
    b against b + c at 1/2)."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired(rows: Sequence[dict], baseline: str | None = None) -> list[dict]:
    """Each group against a baseline group (default: the first) on the task ids both ran, with
    the same kind: both solved, only the baseline, only the group, neither, and McNemar's p.
    Small samples of a weak model leave wide intervals; pairs on the same tasks say more."""
    by_group: dict[tuple, dict[str, bool]] = {}
    for r in rows:
        by_group.setdefault(_group_key(r), {})[str(r.get("id"))] = bool(r.get("success"))
    keys = list(by_group)
    if not keys:
        return []
    base = next((k for k in keys if baseline in (k[1], f"{k[1]} ({k[2]})")), keys[0]) if baseline else keys[0]
    out = []
    for k in keys:
        if k == base or k[0] != base[0]:
            continue
        common = sorted(set(by_group[base]) & set(by_group[k]))
        a, b = by_group[base], by_group[k]
        only_base = sum(1 for t in common if a[t] and not b[t])
        only_other = sum(1 for t in common if b[t] and not a[t])
        out.append({
            "kind": k[0], "baseline": base[1], "strategy": k[1], "model": k[2], "tasks": len(common),
            "both": sum(1 for t in common if a[t] and b[t]), "only_baseline": only_base, "only_strategy": only_other,
            "neither": sum(1 for t in common if not a[t] and not b[t]), "mcnemar_p": round(mcnemar_p(only_base, only_other), 4),
        })
    return out


def paired_markdown(pairs: Sequence[dict]) -> str:
    lines = ["| kind | baseline | strategy | model | tasks | both | only baseline | only strategy | neither | McNemar p |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for p in pairs:
        lines.append(f"| {p['kind']} | {p['baseline']} | {p['strategy']} | {p['model']} | {p['tasks']} | {p['both']} | "
                     f"{p['only_baseline']} | {p['only_strategy']} | {p['neither']} | {p['mcnemar_p']:.3f} |")
    return "\n".join(lines)


def load(paths: Sequence[str | Path]) -> list[dict]:
    if not paths:
        raise ConfigError("ponder report needs at least one results file")
    rows: list[dict] = []
    for p in paths:
        if not Path(p).is_file():
            raise ConfigError(f"results file not found: {p}")
        got = read_rows(p)
        if not got:
            raise ConfigError(f"{p}: no result rows")
        rows += got
    return rows


#: One marker per ten rows: the colour cycle repeats after ten, the (colour, marker) pair does not.
_MARKERS = "osD^v"
#: More legend entries than this would cover the points: the legend goes beside the axes.
CROWDED = 8


def marker(i: int) -> str:
    """The marker of the ``i``-th line or point of a plot (see :data:`_MARKERS`)."""
    return _MARKERS[i // 10 % len(_MARKERS)]


def place_legend(ax, entries: int) -> None:
    """The legend inside the axes, or beside them when it has more than :data:`CROWDED` entries."""
    if entries > CROWDED:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    else:
        ax.legend(fontsize=7, loc="best")


def legend_label(row: dict, summary: Sequence[dict]) -> str:
    """A row's legend entry: kind and strategy, with the model when another row shares both
    (the same strategy run with two actors)."""
    label = f"{row['kind']}: {row['strategy']}"
    if sum((s["kind"], s["strategy"]) == (row["kind"], row["strategy"]) for s in summary) > 1:
        label += f" [{row['model']}]"
    return f"{label} (n={row['n']})"


def plot(summary: Sequence[dict], path: str | Path) -> Path:
    """Success rate (with the interval) against mean tokens per task, one point per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 5.5) if len(summary) > CROWDED else (7, 4.5))
    for i, s in enumerate(summary):
        x = s["tokens"] or 0.0
        y = s["success_rate"]
        ax.errorbar([x], [y], yerr=[[max(0.0, y - s["ci_low"])], [max(0.0, s["ci_high"] - y)]],
                    fmt=marker(i), capsize=4, label=legend_label(s, summary))
    ax.set_xlabel("tokens per task (mean)")
    ax.set_ylabel("success rate (Wilson 95% interval)")
    ax.set_ylim(-0.02, 1.02)
    _token_axis(ax, [s["tokens"] or 0.0 for s in summary])
    ax.grid(alpha=0.3)
    place_legend(ax, len(summary))
    ax.set_title("success against compute")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _token_axis(ax, xs: Sequence[float]) -> None:
    """A log axis where the points span a decade or more (symlog when one is at zero), linear
    otherwise; ticks are labelled with plain numbers either way (a log axis whose points lie
    between two powers of ten would otherwise show no label at all)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    positive = [x for x in xs if x > 0]
    if positive and max(positive) >= 10 * min(positive):
        if len(positive) < len(xs):
            ax.set_xscale("symlog", linthresh=min(positive))
        else:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def columns(summary: Sequence[dict]) -> list[tuple[str, list[str]]]:
    """The summary table as ``(header, cells)`` per column, in display order (shared by the
    Markdown and the terminal renderings)."""
    extra = sorted({k for s in summary for k in s["metrics"] if k not in ("nodes", "restores", "replays")})
    cols: list[tuple[str, list[str]]] = [
        ("kind", [s["kind"] for s in summary]),
        ("strategy", [s["strategy"] for s in summary]),
        ("model", [s["model"] for s in summary]),
        ("n", [str(s["n"]) for s in summary]),
        ("success", [f"{s['success_rate']:.3f}" for s in summary]),
        ("95% CI", [f"[{s['ci_low']:.3f}, {s['ci_high']:.3f}]" for s in summary]),
        ("errors", [str(s["errors"]) for s in summary]),
        ("tokens/task", [f"{s['tokens']:.0f}" for s in summary]),
        ("calls/task", [f"{s['calls']:.1f}" for s in summary]),
        ("env steps/task", [f"{s['env_steps']:.1f}" for s in summary]),
        ("s/task", [f"{s['seconds']:.1f}" for s in summary]),
    ]
    cols += [(k, [f"{s['metrics'].get(k, float('nan')):.3f}" for s in summary]) for k in extra]
    return cols


def markdown(summary: Sequence[dict]) -> str:
    """The summary as a Markdown table (for docs/RESULTS.md, and ``ponder report`` when its output
    is not a terminal)."""
    cols = columns(summary)
    lines = ["| " + " | ".join(h for h, _ in cols) + " |", "|" + "---|" * len(cols)]
    for i in range(len(summary)):
        lines.append("| " + " | ".join(cells[i] for _, cells in cols) + " |")
    return "\n".join(lines)


def _column_width(header: str, cells: Sequence[str]) -> int:
    return max(len(line) for text in (header, *cells) for line in text.split("\n"))


def _table_width(cols: Sequence[tuple[str, Sequence[str]]]) -> int:
    return sum(_column_width(h, cells) + 3 for h, cells in cols) + 1  # padding and a rule per column


def terminal_tables(summary: Sequence[dict], width: int, title: str = "results") -> list:
    """The summary as rich tables that fit ``width`` columns without cutting a cell: one table
    per kind (web, qa, ...) without the columns that kind leaves empty; where a table is too
    wide, strategy and model share one column (one above the other) and the other columns are
    split over as many tables as needed, each repeating the strategy and model."""
    from rich.table import Table
    from rich.text import Text

    tables = []
    for kind in dict.fromkeys(s["kind"] for s in summary):
        rows = [s for s in summary if s["kind"] == kind]
        cols = [c for c in columns(rows) if c[0] != "kind" and not all(v == "nan" for v in c[1])]
        values = [c for c in cols if c[0] not in ("strategy", "model")]
        parts: list[list[tuple[str, list[str]]]]
        if _table_width(cols) <= width:
            parts = [cols]
        else:
            key = ("strategy\nmodel", [f"{s['strategy']}\n{s['model']}" for s in rows])
            parts, current = [], [key]
            for col in values:
                if len(current) > 1 and _table_width([*current, col]) > width:
                    parts.append(current)
                    current = [key]
                current.append(col)
            parts.append(current)
        for i, part in enumerate(parts, 1):
            name = f"{title}: {kind}" + (f" ({i}/{len(parts)})" if len(parts) > 1 else "")
            table = Table(title=Text(name))
            for header, _ in part:
                label = header in ("strategy", "model", "strategy\nmodel")
                table.add_column(header, overflow="fold", justify="left" if label else "right")
            for r in range(len(rows)):
                table.add_row(*[Text(cells[r]) for _, cells in part])  # Text: a label is never markup
            tables.append(table)
    return tables
