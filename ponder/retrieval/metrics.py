"""QA metrics: SQuAD-normalised exact match and F1 (HotpotQA's official variant: a yes/no/no-answer
mismatch scores 0), answer-in-output accuracy, and recall of supporting documents."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from ponder.text import normalize_answer

_SPECIAL = {"yes", "no", "noanswer"}


def _f1_one(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction), normalize_answer(gold)
    if (pred in _SPECIAL or ref in _SPECIAL) and pred != ref:
        return 0.0
    p_tokens, r_tokens = pred.split(), ref.split()
    common = Counter(p_tokens) & Counter(r_tokens)
    same = sum(common.values())
    if not same:
        return 0.0
    precision, recall = same / len(p_tokens), same / len(r_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer."""
    pred = normalize_answer(prediction or "")
    return float(any(pred == normalize_answer(g) for g in golds if g is not None))


def f1_score(prediction: str, golds: Sequence[str]) -> float:
    """The best token F1 of the prediction against any gold answer."""
    return max((_f1_one(prediction or "", g) for g in golds if g is not None), default=0.0)


def answer_in_output(output: str, golds: Sequence[str]) -> float:
    """1.0 when a normalised gold answer occurs (as whole words) in the normalised output."""
    out = f" {normalize_answer(output or '')} "
    return float(any(normalize_answer(g) and f" {normalize_answer(g)} " in out for g in golds if g is not None))


def supporting_recall(gold_titles: Iterable[str], retrieved_titles: Iterable[str]) -> float:
    """Share of the gold supporting documents among the retrieved ones (1.0 when none are gold)."""
    gold = set(gold_titles)
    if not gold:
        return 1.0
    return len(gold & set(retrieved_titles)) / len(gold)


def qa_metrics(prediction: str, output: str, golds: Sequence[str], gold_titles: Iterable[str],
               retrieved_titles: Iterable[str]) -> dict[str, float]:
    """``{em, f1, acc, sp_recall}`` for one question: EM and F1 on the short ``prediction``,
    answer-in-output accuracy on the model's full ``output``, supporting-title recall."""
    return {
        "em": exact_match(prediction, golds),
        "f1": round(f1_score(prediction, golds), 4),
        "acc": answer_in_output(output, golds),
        "sp_recall": round(supporting_recall(gold_titles, retrieved_titles), 4),
    }
