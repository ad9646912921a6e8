"""The scripted backend: a deterministic chat model for tests, demos and load tests.

:class:`ScriptedChatModel` answers by prompt pattern (regex over the last user message, or the
whole conversation) or from a list, and counts tokens by whitespace so usage is predictable.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from ponder.models.base import (
    ChatModel,
    Completion,
    Messages,
    ModelInfo,
    TokenLogprob,
    cut_at_stop,
    top_logprobs,
)

Reply = str | Callable[[Messages], str]


def copy_scorer(messages: Messages, continuation: str) -> float:
    """The scripted model's default likelihood: -0.1 per continuation word that occurs in the
    conversation, -2 per word that does not, -1 for ending the turn (deterministic; a reply copied
    from the context outscores an invented one of the same length)."""
    seen = set(re.findall(r"\w+", " ".join(m["content"] for m in messages).lower()))
    return -1.0 + sum(-0.1 if w in seen else -2.0 for w in re.findall(r"\w+", continuation.lower()))


class ScriptedChatModel(ChatModel):
    """A deterministic chat model for tests.

    Args:
        rules: ``(pattern, reply)`` pairs; the first pattern that ``re.search``-es the
            conversation text (all messages joined) gives the reply. A reply may be a callable
            taking the messages.
        replies: a list used in order (then cycled) when no rule matches.
        default: the reply when neither matches (``None``: raise, so a test sees the gap).
        latency: seconds slept per call, to imitate a real model in load tests.
        parameters: the parameter count used in FLOPs estimates.
        scorer: ``scorer(messages, continuation) -> float`` for :meth:`~ChatModel.score`
            (default :func:`copy_scorer`: a continuation whose words occur in the conversation
            scores higher).
    """

    def __init__(
        self,
        rules: Iterable[tuple[str, Reply]] = (),
        *,
        replies: Sequence[Reply] = (),
        default: Reply | None = None,
        latency: float = 0.0,
        name: str = "scripted",
        parameters: int = 1_000_000,
        scorer: Callable[[Messages, str], float] | None = None,
    ):
        self.rules = [(re.compile(p, re.S), r) for p, r in rules]
        self.replies = list(replies)
        self.default = default
        self.latency = latency
        self.scorer = scorer or copy_scorer
        self.scored: list[tuple[Messages, list[str]]] = []  # every score call, for assertions
        self.info = ModelInfo(name=name, backend="scripted", parameters=parameters)
        self.calls: list[Messages] = []  # every conversation seen, for assertions
        self._next = 0
        self._lock = threading.Lock()
        self._draw_lock = threading.RLock()

    @classmethod
    def from_spec(cls, spec, **kwargs) -> ScriptedChatModel:
        """Build from a registry spec (``backend = "scripted"``; replies and rules in its options)."""
        opts = {**spec.options, **kwargs}
        opts.setdefault("parameters", spec.parameters or 1_000_000)
        return cls(name=spec.name, **opts)

    def reply_for(self, messages: Messages) -> str:
        text = "\n".join(m["content"] for m in messages)
        for pattern, reply in self.rules:
            if pattern.search(text):
                return reply(messages) if callable(reply) else reply
        with self._lock:
            if self.replies:
                reply = self.replies[self._next % len(self.replies)]
                self._next += 1
                return reply(messages) if callable(reply) else reply
        if self.default is not None:
            return self.default(messages) if callable(self.default) else self.default
        raise LookupError(f"ScriptedChatModel has no reply for: {text[-200:]!r}")

    def count_tokens(self, messages: Messages) -> int:
        return sum(len(m["content"].split()) for m in messages)

    def count_text(self, text: str) -> int:
        return len(text.split())

    def _score(self, messages, continuations):
        with self._lock:
            self.scored.append((messages, list(continuations)))
        scores = [float(self.scorer(messages, c)) for c in continuations]
        # the prompt once, then each continuation and its end-of-turn token
        return scores, self.count_tokens(messages) + sum(self.count_text(c) + 1 for c in continuations)

    def _generate_batch(self, batch, *, n, temperature, max_tokens, stop, logprobs, seed):
        if self.latency:
            time.sleep(self.latency)
        out = []
        for messages in batch:
            with self._lock:
                self.calls.append(messages)
            # the n samples of one conversation are drawn together: a reply function that counts
            # its draws (a scripted sampling distribution) must not see other threads' draws
            # interleaved with them
            with self._draw_lock:
                replies = [self.reply_for(messages) for _ in range(n)]
            row = []
            for reply in replies:
                words = reply.split(" ")
                truncated = len(words) > max_tokens
                text, stopped = cut_at_stop(" ".join(words[:max_tokens]), stop)
                tokens = text.split()
                row.append(
                    Completion(
                        text=text,
                        finish_reason="length" if truncated and not stopped else "stop",
                        prompt_tokens=self.count_tokens(messages),
                        completion_tokens=len(tokens),
                        logprobs=[TokenLogprob(t, -0.1, ((t, -0.1),) if top_logprobs(logprobs) else ()) for t in tokens]
                        if logprobs else None,
                    )
                )
            out.append(row)
        return out
