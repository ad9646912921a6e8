"""The answer-prompt study (issue 15): five prompt shapes, each scored by `single` on the FIRST 50
HotpotQA questions only (the last 50 were not run). The winner, `flashrag-shot`, became
ponder.agents.answerer's prompt; `first` is the prompt every run before it used.

    python results/qa/prompt_study.py VARIANT     # -> results/qa/prompt-study/single-VARIANT.jsonl
Variants: first, flashrag, flashrag-shot, three-shot, q-last; a `-nostop` suffix drops the
blank-line stop of the answer call (it changed no answer for `flashrag`).
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ponder.agents import answerer  # noqa: E402
from ponder.agents.qa_common import render_passages  # noqa: E402

FIRST_SYSTEM = ("You answer questions. Reply with only the answer: a name, a number, a date, yes or no, "
                "or a few words. No explanation.")
ADA = ("[1] Ada Lovelace: Ada Lovelace was an English mathematician, the daughter of the poet Lord Byron.\n"
       "[2] Lord Byron: George Gordon Byron was born in London in 1788.")
SHOTS = [
    (ADA, "In which city was the father of Ada Lovelace born?", "London"),
    ("[1] Blur: Blur are an English rock band formed in London in 1988.\n"
     "[2] Oasis: Oasis were an English rock band formed in Manchester in 1991.",
     "Which band was formed first, Blur or Oasis?", "Blur"),
    ("[1] Mount Elbert: Mount Elbert is the highest summit of the Rocky Mountains in Colorado, United States.\n"
     "[2] Pikes Peak: Pikes Peak is a mountain in the Rocky Mountains of Colorado, United States.",
     "Are Mount Elbert and Pikes Peak in the same country?", "yes"),
]


def _user(ctx: str, q: str) -> str:
    return f"Passages:\n{ctx}\n\nQuestion: {q}\nAnswer in a few words."


def first(question, *, passages=(), note=None):
    """The prompt before the study: context in the user turn, one worked example with passages."""
    return [{"role": "system", "content": FIRST_SYSTEM}, {"role": "user", "content": _user(ADA, SHOTS[0][1])},
            {"role": "assistant", "content": "London"}, {"role": "user", "content": _user(render_passages(passages), question)}]


def flashrag(question, *, passages=(), note=None):
    """FlashRAG's standard-RAG prompt shape: instruction and documents in the system message."""
    return [{"role": "system", "content": "Answer the question based on the given document. Only give me the answer "
             "and do not output any other words.\nThe following are given documents.\n\n" + render_passages(passages)},
            {"role": "user", "content": f"Question: {question}"}]


def flashrag_shot(question, *, passages=(), note=None):
    """``flashrag`` with one worked question and answer (no documents) before the question."""
    m = flashrag(question, passages=passages)
    return [m[0], {"role": "user", "content": f"Question: {SHOTS[0][1]}"}, {"role": "assistant", "content": "London"}, m[1]]


def three_shot(question, *, passages=(), note=None):
    """``first`` with three worked examples (a bridge, a comparison, a yes/no question)."""
    msgs = [{"role": "system", "content": FIRST_SYSTEM}]
    for ctx, q, a in SHOTS:
        msgs += [{"role": "user", "content": _user(ctx, q)}, {"role": "assistant", "content": a}]
    return msgs + [{"role": "user", "content": _user(render_passages(passages), question)}]


def q_last(question, *, passages=(), note=None):
    """``first`` with the question before and after the passages."""
    m = first(question, passages=passages)
    m[-1]["content"] = f"Question: {question}\n\n" + m[-1]["content"]
    return m


variant = sys.argv[1]
base = variant.removesuffix("-nostop")
answerer.messages = {"first": first, "flashrag": flashrag, "flashrag-shot": flashrag_shot, "three-shot": three_shot,
                     "q-last": q_last}[base]
if variant.endswith("-nostop"):
    def answer_nostop(model, question, *, passages=(), note=None, usage=None, max_tokens=answerer.MAX_TOKENS):
        reply = model.generate(answerer.messages(question, passages=passages, note=note), max_tokens=max_tokens,
                               temperature=0.0, usage=usage)[0].text
        return answerer.Answer(answerer.parse(reply), reply)
    answerer.answer = answer_nostop

from ponder.cli.main import main  # noqa: E402

main(["eval", "qa", "--dataset", "hotpotqa", "--method", "single", "--model", "smollm2-135m", "--workers", "25",
      "--limit", "50", "--out", str(ROOT / f"results/qa/prompt-study/single-{variant}.jsonl")])
