"""The one chat-model interface every backend implements."""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, TypedDict

from ponder import usage as usage_mod
from ponder.usage import Usage


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


Messages = Sequence[Message]


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token's log-probability; ``top`` holds the most likely tokens at its
    position (most likely first) when ``logprobs=k`` asked for ``k`` of them."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


#: The most alternatives a call may ask for per position (OpenAI's limit).
MAX_TOP_LOGPROBS = 20


def top_logprobs(logprobs: bool | int) -> int:
    """How many alternatives per position ``logprobs`` asks for: ``False``/``True`` none (``True``
    gives each generated token's own log-probability), an int ``k`` the ``k`` most likely."""
    if isinstance(logprobs, bool):
        return 0
    k = int(logprobs)
    if not 0 <= k <= MAX_TOP_LOGPROBS:
        raise ValueError(f"logprobs must be a bool or an int in 0..{MAX_TOP_LOGPROBS}, got {logprobs!r}")
    return k


def class_mass(position: TokenLogprob, classify) -> dict:
    """Probability mass per class among the alternatives at one position (the generated token
    counted even when it lies outside the top k); ``classify(token)`` names a token's class or
    returns ``None`` for tokens that belong to none."""
    alternatives = dict(position.top)
    alternatives.setdefault(position.token, position.logprob)
    mass: dict = {}
    for token, logprob in alternatives.items():
        kind = classify(token)
        if kind is not None:
            mass[kind] = mass.get(kind, 0.0) + math.exp(logprob)
    return mass


def ranked(pairs) -> tuple[tuple[str, float], ...]:
    """Alternatives as ``(token, logprob)`` pairs, most likely first."""
    return tuple(sorted(((str(t), float(v)) for t, v in pairs), key=lambda p: -p[1]))


@dataclass
class Completion:
    """One sampled answer."""

    text: str
    finish_reason: str  # "stop" (end of turn or a stop string) or "length"
    prompt_tokens: int
    completion_tokens: int
    logprobs: list[TokenLogprob] | None = None

    @property
    def mean_logprob(self) -> float | None:
        if not self.logprobs:
            return None
        return sum(t.logprob for t in self.logprobs) / len(self.logprobs)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    backend: str
    parameters: int  # for the FLOPs estimate: 2 x parameters x tokens
    context_length: int = 2048
    chat: bool = True  # False: a base model prompted as plain completion text
    details: dict = field(default_factory=dict)


def render_completion_prompt(messages: Messages) -> str:
    """How a base (non-chat) model sees a conversation: plain labelled turns, ending on the
    assistant's label so the model continues there."""
    lines = []
    for m in messages:
        label = {"system": "Instructions", "user": "Question", "assistant": "Answer"}[m["role"]]
        lines.append(f"{label}: {m['content'].strip()}")
    lines.append("Answer:")
    return "\n\n".join(lines)


#: Stops added for base models so they end their turn instead of writing the next "Question:".
COMPLETION_STOPS = ["\n\nQuestion:", "\n\nInstructions:", "\n\nAnswer:"]


def cut_at_stop(text: str, stop: Sequence[str] | None) -> tuple[str, bool]:
    """Truncate ``text`` at the earliest stop string; say whether one was found."""
    if not stop:
        return text, False
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class ChatModel(abc.ABC):
    """A chat model. Backends implement :meth:`_generate_batch`; callers use :meth:`generate`
    (one conversation, ``n`` samples) or :meth:`generate_batch` (several conversations, ``n``
    samples each, batched in one pass where the backend can).

    ``logprobs``: ``True`` gives each generated token's log-probability; an int ``k`` also gives
    the ``k`` most likely tokens at each position (``TokenLogprob.top``), as OpenAI's
    ``top_logprobs`` does.

    Every call is charged to ``usage`` (or the active ledger, see :func:`ponder.usage.current`):
    the budget is checked with the worst case (``max_tokens`` per sample) *before* the call, and
    the actual tokens, FLOPs and seconds are charged after it.
    """

    info: ModelInfo

    @property
    def name(self) -> str:
        return self.info.name

    def generate(
        self,
        messages: Messages,
        *,
        n: int = 1,
        temperature: float = 0.0,
        max_tokens: int = 256,
        stop: Sequence[str] | None = None,
        logprobs: bool | int = False,
        seed: int | None = None,
        usage: Usage | None = None,
    ) -> list[Completion]:
        return self.generate_batch(
            [messages], n=n, temperature=temperature, max_tokens=max_tokens, stop=stop,
            logprobs=logprobs, seed=seed, usage=usage,
        )[0]

    def generate_batch(
        self,
        batch: Sequence[Messages],
        *,
        n: int = 1,
        temperature: float = 0.0,
        max_tokens: int = 256,
        stop: Sequence[str] | None = None,
        logprobs: bool | int = False,
        seed: int | None = None,
        usage: Usage | None = None,
    ) -> list[list[Completion]]:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        top_logprobs(logprobs)  # validates
        if not batch:
            return []
        for i, messages in enumerate(batch):
            if not messages:
                raise ValueError(f"conversation {i} has no messages")
        ledger = usage or usage_mod.current()
        prompt_estimate = sum(self.count_tokens(m) for m in batch) * n if ledger is not None else 0
        if not self.info.chat:
            stop = [*(stop or []), *COMPLETION_STOPS]
        worst = usage_mod.model_call(self.info.parameters, calls=len(batch), prompt_tokens=prompt_estimate,
                                     completion_tokens=len(batch) * n * max_tokens)
        with usage_mod.spend(ledger, timed="seconds", **worst) as spending:
            out = self._generate_batch(
                list(batch), n=n, temperature=temperature, max_tokens=max_tokens,
                stop=list(stop) if stop else None, logprobs=logprobs, seed=seed,
            )
            spending.actual(**usage_mod.model_call(
                self.info.parameters, calls=len(batch),
                prompt_tokens=sum(c.prompt_tokens for row in out for c in row),
                completion_tokens=sum(c.completion_tokens for row in out for c in row),
            ))
        return out

    @abc.abstractmethod
    def _generate_batch(
        self,
        batch: list[Messages],
        *,
        n: int,
        temperature: float,
        max_tokens: int,
        stop: list[str] | None,
        logprobs: bool | int,
        seed: int | None,
    ) -> list[list[Completion]]:
        """Return, for each conversation, ``n`` completions."""

    def count_tokens(self, messages: Messages) -> int:
        """Prompt tokens for ``messages`` (backends with a tokenizer override this estimate)."""
        return sum(len(m["content"]) // 4 + 4 for m in messages)

    def count_text(self, text: str) -> int:
        """Tokens of a piece of text on its own (backends with a tokenizer override this estimate)."""
        return len(text) // 4 + 1

    def score(self, messages: Messages, continuations: Sequence[str], *, usage: Usage | None = None) -> list[float]:
        """The summed log-probability of each continuation as the assistant's whole reply to
        ``messages`` (its end-of-turn token included where the backend has one), e.g. to rank
        candidate answers by likelihood. One call: the prompt is charged once, plus every
        continuation's tokens, as prompt tokens (nothing is generated).

        Raises:
            ConfigError: the backend cannot score (it returns no prompt log-probabilities).
            BudgetExceeded: the worst case (the prompt plus each continuation and an end token)
                would pass a limit of ``usage``.
        """
        if not messages:
            raise ValueError("score: the conversation has no messages")
        conts = list(continuations)
        if not conts:
            return []
        ledger = usage or usage_mod.current()
        worst = 0
        if ledger is not None:
            worst = self.count_tokens(messages) + sum(self.count_text(c) + 1 for c in conts)
        with usage_mod.spend(ledger, timed="seconds", **usage_mod.model_call(
                self.info.parameters, calls=1, prompt_tokens=worst, completion_tokens=0)) as spending:
            scores, tokens = self._score(list(messages), conts)
            spending.actual(**usage_mod.model_call(self.info.parameters, calls=1, prompt_tokens=tokens,
                                                   completion_tokens=0))
        return scores

    def _score(self, messages: list[Message], continuations: list[str]) -> tuple[list[float], int]:
        """Backends that can score return each continuation's summed log-probability and the
        tokens the call processed."""
        from ponder.errors import ConfigError

        raise ConfigError(f"the {self.info.backend} backend ({self.info.name}) cannot score continuations",
                          hint="use a transformers or scripted model for methods that rank answers by likelihood")

    def close(self) -> None:
        """Release the backend's resources (weights, clients)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.info.name!r})"
