"""Issue 15, fourth session: can a ranker *learned on the first 50 questions* make ``span``'s
extra candidates (more passages, more replies) pay, as the learned value did for web search?

Replays the logged candidates and scores of the measured top ``span`` run (passages 5, 3 replies)
exactly; no model is run. For each open question's candidates (yes/no and choice questions keep
the ``ctx`` rule), features known at test time (no gold): the model's log-probability (sum and
per token), the replies' vote, the best passage rank containing the candidate, how many passages
contain it, whether it is a passage title, the MiniLM similarity of the question to the best
sentence containing it, its length, and an answer-type match (year/number/name against the
question's wh-phrase). A conditional-logit ranker (softmax over a question's candidates, target
the candidates' token F1 against the gold answer) is fitted on the FIRST 50 questions only, its
L2 strength chosen by 5-fold cross-validation over those 50; the last 50 are scored once. The
last column is the ceiling: a perfect ranker's pick among the same candidates.

    python results/qa/span-study/learned_rank.py [results/qa/scaling/span-passages-5-samples-3.jsonl]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "results" / "qa"))

from span_levels import DATA, DOCS, FIRST, ITEMS, replay  # noqa: E402

from ponder.files import read_jsonl  # noqa: E402
from ponder.graphs.qa_extract import candidate_spans  # noqa: E402
from ponder.retrieval.embedder import Embedder  # noqa: E402
from ponder.retrieval.metrics import answer_in_output, f1_score  # noqa: E402
from ponder.text import normalize_answer  # noqa: E402

LEVELS = ((1, 1), (3, 1), (5, 1), (5, 3))
YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
NUM = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million)\b", re.I)
SENT = re.compile(r"(?<=[.!?])\s+")
NAMES = ("ctx/10", "mean", "named", "1/rank", "passages", "title", "sim", "log len", "type", "ctx top")


def wanted(question: str) -> str | None:
    q = question.lower()
    if re.search(r"\b(what|which|in what) year\b|^when\b|\bwhen (was|did|is|were)\b", q):
        return "year"
    if re.search(r"\bhow (many|much|long|old|tall|far)\b", q):
        return "number"
    if re.search(r"^(who|whom|whose)\b|\bwho (is|was|were)\b", q):
        return "name"
    return None


def type_match(kind: str | None, text: str) -> float:
    if kind == "year":
        return float(bool(YEAR.search(text)))
    if kind == "number":
        return float(bool(NUM.search(text)))
    if kind == "name":
        return float(not NUM.search(text))
    return 0.5


class Features:
    def __init__(self) -> None:
        self.embedder = Embedder()
        self._sims: dict[str, dict[str, float]] = {}

    def sentence_sims(self, qid: str, question: str, titles: list[str]) -> dict[str, float]:
        if qid not in self._sims:
            sents = [s for t in titles for s in [t, *SENT.split(DOCS[t].text)] if s.strip()]
            vecs = self.embedder.encode([question, *sents])
            vecs = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
            self._sims[qid] = dict(zip(sents, (vecs[1:] @ vecs[0]).tolist()))
        return self._sims[qid]

    def of(self, row: dict, passages: int, samples: int) -> tuple[list[str], np.ndarray] | None:
        """The candidates of an open question at a level and their feature matrix (``None`` for
        yes/no and choice questions or no candidates)."""
        item, extra = ITEMS[row["id"]], row["extra"]
        if extra["kind"] != "open":
            return None
        titles = [t for t in row["evidence"] if t in DOCS]
        hits = [DOCS[t] for t in titles]
        texts, named = candidate_spans(item.question, hits, extra["replies"][:samples], passages=passages)
        logged = {normalize_answer(s["text"]): s for s in extra["spans"]}
        texts = [t for t in texts if normalize_answer(t) in logged]
        if not texts:
            return None
        sims = self.sentence_sims(row["id"], item.question, titles)
        kind = wanted(item.question)
        top = max(logged[normalize_answer(t)]["ctx"] for t in texts)
        rows = []
        for t in texts:
            s, low = logged[normalize_answer(t)], t.lower()
            ranks = [i + 1 for i, d in enumerate(hits) if low in f"{d.title} {d.text}".lower()]
            best = max((v for sent, v in sims.items() if low in sent.lower()), default=0.0)
            rows.append([s["ctx"] / 10, s["ctx"] / max(s["tokens"], 1), named.get(normalize_answer(t), 0.0),
                         1 / ranks[0] if ranks else 0.0, len(ranks) / 5, float(t in titles), best,
                         np.log(s["tokens"]), type_match(kind, t), float(s["ctx"] == top)])
        return texts, np.asarray(rows, dtype=float)


def oracle_pick(row: dict, passages: int, samples: int) -> tuple[float, float]:
    """The best F1 and acc any candidate of a level reaches (a perfect ranker: the ceiling)."""
    item = ITEMS[row["id"]]
    hits = [DOCS[t] for t in row["evidence"] if t in DOCS]
    texts, _ = candidate_spans(item.question, hits, row["extra"]["replies"][:samples], passages=passages)
    return (max((f1_score(t, item.answers) for t in texts), default=0.0),
            max((answer_in_output(t, item.answers) for t in texts), default=0.0))


def fit(groups: list[tuple[np.ndarray, np.ndarray]], l2: float, steps: int = 400) -> np.ndarray:
    """Conditional logit: softmax over each group's rows, cross-entropy against its normalised
    target (groups whose targets are all zero carry no signal and are skipped), L2 on the weights."""
    data = [(x, y / y.sum()) for x, y in groups if y.sum() > 0]
    w = np.zeros(data[0][0].shape[1])
    lr = 0.5
    for _ in range(steps):
        grad = l2 * w
        for x, y in data:
            z = x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            grad += x.T @ (p - y) / len(data)
        w -= lr * grad
    return w


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "results/qa/scaling/span-passages-5-samples-3.jsonl")
    rows = [r for r in read_jsonl(path) if r.get("extra", {}).get("spans") is not None]
    order = {it.id: i for i, it in enumerate(DATA.items)}
    rows.sort(key=lambda r: order[r["id"]])
    feats = Features()
    gold = {r["id"]: ITEMS[r["id"]].answers for r in rows}
    # training groups: the top level (every candidate) of the first 50 questions
    train = []
    for r in rows:
        if r["id"] in FIRST and (got := feats.of(r, 5, 3)):
            texts, x = got
            train.append((r["id"], x, np.asarray([f1_score(t, gold[r["id"]]) for t in texts])))
    mu = np.concatenate([x for _, x, _ in train]).mean(0)
    sd = np.concatenate([x for _, x, _ in train]).std(0) + 1e-9
    norm = [(qid, (x - mu) / sd, y) for qid, x, y in train]

    def pick_f1(w: np.ndarray, ids: set[str], passages: int, samples: int) -> float:
        out = []
        for r in rows:
            if r["id"] not in ids:
                continue
            got = feats.of(r, passages, samples)
            if got is None:  # yes/no, choice, no candidate: the ctx rule's answer
                out.append(replay(r, rule="ctx", weight=1.0, passages=passages, samples=samples)["metrics"]["f1"])
                continue
            texts, x = got
            out.append(f1_score(texts[int(np.argmax(((x - mu) / sd) @ w))], gold[r["id"]]))
        return float(np.mean(out))

    # the L2 strength by 5-fold cross-validation over the first 50 (top level)
    ids = [qid for qid, _, _ in norm]
    folds = [set(ids[i::5]) for i in range(5)]
    cv = {}
    for l2 in (0.01, 0.1, 1.0, 10.0):
        scores = []
        for fold in folds:
            w = fit([(x, y) for qid, x, y in norm if qid not in fold], l2)
            scores.append(np.mean([y[int(np.argmax(x @ w))] for q, x, y in norm if q in fold]))
        cv[l2] = float(np.mean(scores))
    l2 = max(cv, key=cv.get)
    w = fit([(x, y) for _, x, y in norm], l2)
    print(f"training groups (first 50, open, with a candidate): {len(norm)}; 5-fold CV F1 of the pick by L2: "
          + ", ".join(f"{k:g}: {v:.3f}" for k, v in cv.items()) + f" -> {l2:g}")
    print("weights (standardised features): " + ", ".join(f"{n} {v:+.2f}" for n, v in zip(NAMES, w)))
    first = {r["id"] for r in rows if r["id"] in FIRST}
    last = {r["id"] for r in rows} - first
    print("| passages | replies | F1 ctx rule first 50 | learned first 50 (fitted there) | ctx rule last 50 | "
          "learned last 50 (held out) | ctx all | learned all | oracle pick all (acc) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for p, s in LEVELS:
        ctx = {part: float(np.mean([replay(r, rule="ctx", weight=1.0, passages=p, samples=s)["metrics"]["f1"]
                                    for r in rows if r["id"] in part])) for part in (frozenset(first), frozenset(last))}
        lf, ll = pick_f1(w, first, p, s), pick_f1(w, last, p, s)
        oracle = [oracle_pick(r, p, s) for r in rows]
        print(f"| {p} | {s} | {ctx[frozenset(first)]:.3f} | {lf:.3f} | {ctx[frozenset(last)]:.3f} | {ll:.3f} | "
              f"{(ctx[frozenset(first)] + ctx[frozenset(last)]) / 2:.3f} | {(lf + ll) / 2:.3f} | "
              f"{np.mean([o[0] for o in oracle]):.3f} ({np.mean([o[1] for o in oracle]):.3f}) |")


if __name__ == "__main__":
    main()
