"""``ponder demo``: every capability, briefly, on embedded defaults with the local model."""

from __future__ import annotations

import importlib
import time

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from ponder.text import extract_short_answer, majority_vote
from ponder.usage import Usage

QUESTION = "What is the capital of France?"


def self_consistency_demo(console: Console, model_name: str | None) -> None:
    """Answer a question by self-consistency: 8 samples in one batched call, then a vote."""
    from ponder.models.registry import load_model

    start = time.perf_counter()
    model = load_model(model_name)
    console.print(f"[dim]loaded {model.name} in {time.perf_counter() - start:.1f} s[/]")
    usage = Usage()
    messages = [
        {"role": "system", "content": "Answer with a single word or name. No sentence."},
        {"role": "user", "content": "What is the capital of Italy?"},
        {"role": "assistant", "content": "Rome"},
        {"role": "user", "content": QUESTION},
    ]
    samples = model.generate(messages, n=8, temperature=0.7, max_tokens=12, seed=0, usage=usage)
    answers = [extract_short_answer(c.text) for c in samples]
    answer, tally = majority_vote(answers)
    console.print(f"question: {QUESTION} (8 samples, one batched call)")
    table = Table("answer", "votes")
    for text, votes in tally.items():
        table.add_row(text, f"{votes:g}")
    console.print(table)
    console.print(f"[bold green]answer:[/] {answer}")
    console.print(f"[dim]usage: {usage.to_dict()}[/]")


#: Later capabilities add (title, "module:function") here; each takes (console, model_name).
SECTIONS: list[tuple[str, str]] = [
    ("Models: self-consistency over 8 batched samples", "ponder.demo:self_consistency_demo"),
    ("Interaction: a shop task solved with best-first search in a real browser", "ponder.graphs.web_demo:web_demo"),
    ("Retrieval: a question answered over a small corpus, with evidence", "ponder.graphs.qa_demo:qa_demo"),
    ("Collaboration: a graph of LLM calls", "ponder.graphs.collab_demo:collab_demo"),
]


def run_demo(console: Console, model_name: str | None = None) -> None:
    for title, target in SECTIONS:
        module, func = target.split(":")
        console.print(Panel(title, style="bold cyan"))
        getattr(importlib.import_module(module), func)(console, model_name)
