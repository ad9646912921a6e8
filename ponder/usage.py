"""The compute ledger: every model call, environment step and retrieval is charged here.

A :class:`Usage` holds running totals and, optionally, a :class:`Budget`. Scopes nest (a run, a
graph node, a subtask): charging a child charges every ancestor, and a charge that would pass
any ancestor's limit raises :class:`~ponder.errors.BudgetExceeded` *before* the work is done.

    usage = Usage(budget=Budget(calls=10))
    with usage.activate():          # models charge the active ledger when none is passed
        model.generate(messages)
    node = usage.scope("judge", Budget(completion_tokens=500))

Whatever spends compute does it through :func:`spend`: check the worst case, do the work,
charge what was actually used (nothing when the work fails)::

    with spend(usage, retrievals=1):
        hits = index.search(query, k)
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields

from ponder.errors import BudgetExceeded

#: The fields every ledger counts. ``seconds`` is model-call wall time; ``wall_seconds`` is time
#: charged explicitly by runners through :meth:`Usage.timer` (whole-episode wall clock).
FIELDS = (
    "calls",
    "prompt_tokens",
    "completion_tokens",
    "flops",
    "seconds",
    "env_steps",
    "env_seconds",
    "retrievals",
    "wall_seconds",
)


@dataclass(frozen=True)
class Budget:
    """Optional limits, one per :data:`FIELDS` entry plus ``tokens`` (prompt + completion).
    ``None`` means unlimited."""

    calls: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tokens: int | None = None
    flops: float | None = None
    seconds: float | None = None
    env_steps: int | None = None
    env_seconds: float | None = None
    retrievals: int | None = None
    wall_seconds: float | None = None

    @classmethod
    def parse(cls, text: str | None) -> Budget | None:
        """Parse ``"calls=20,tokens=5000"`` (the CLI's ``--budget``) into a Budget."""
        if not text:
            return None
        from ponder.errors import ConfigError

        limits: dict[str, float] = {}
        names = {f.name for f in fields(cls)}
        for part in text.split(","):
            key, sep, value = part.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in names:
                raise ConfigError(
                    f"bad budget entry {part!r}",
                    hint=f"use NAME=VALUE with NAME one of {', '.join(sorted(names))}",
                )
            try:
                number = float(value)
            except ValueError as e:
                raise ConfigError(f"budget {key} is not a number: {value!r}") from e
            limits[key] = int(number) if number.is_integer() and key not in ("flops",) else number
        return cls(**limits)

    def limits(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items() if v is not None}


_current: contextvars.ContextVar[Usage | None] = contextvars.ContextVar("ponder_usage", default=None)


def current() -> Usage | None:
    """The ledger made active with :meth:`Usage.activate`, if any."""
    return _current.get()


class Usage:
    """A thread-safe compute ledger with an optional budget and nested scopes."""

    def __init__(self, budget: Budget | None = None, *, name: str = "run", parent: Usage | None = None):
        self.name = name
        self.budget = budget
        self.parent = parent
        self._lock = threading.RLock() if parent is None else parent._lock
        self._totals: dict[str, float] = dict.fromkeys(FIELDS, 0)

    # ---- reading -------------------------------------------------------------------------
    def __getattr__(self, key: str) -> float:
        totals = self.__dict__.get("_totals")
        if totals is not None and key in totals:
            return totals[key]
        raise AttributeError(key)

    @property
    def tokens(self) -> int:
        return int(self._totals["prompt_tokens"] + self._totals["completion_tokens"])

    def to_dict(self) -> dict[str, float]:
        """Totals as a plain dict (JSON-ready), with ``tokens`` added."""
        with self._lock:
            out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self._totals.items()}
        out["tokens"] = self.tokens
        return out

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.to_dict().items() if v)
        return f"Usage({self.name}: {shown or 'nothing'})"

    # ---- scopes ----------------------------------------------------------------------------
    def scope(self, name: str, budget: Budget | None = None) -> Usage:
        """A child ledger whose charges roll up into this one (and are checked against both)."""
        return Usage(budget, name=f"{self.name}/{name}", parent=self)

    @contextlib.contextmanager
    def activate(self) -> Iterator[Usage]:
        """Make this the ledger that models charge when no ``usage=`` is passed."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)

    @contextlib.contextmanager
    def timer(self, field: str = "wall_seconds") -> Iterator[None]:
        """Charge the wall time of the ``with`` block to ``field``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.charge(**{field: time.perf_counter() - start})

    # ---- charging --------------------------------------------------------------------------
    def check(self, **amounts: float) -> None:
        """Raise :class:`BudgetExceeded` if adding ``amounts`` would pass any limit on this
        ledger or an ancestor. Time limits are checked as "already spent", since a call's
        duration is unknown before it runs."""
        for key in amounts:
            if key not in FIELDS:
                raise KeyError(f"unknown usage field {key!r}; known: {', '.join(FIELDS)}")
        with self._lock:
            node: Usage | None = self
            while node is not None:
                if node.budget is not None:
                    node._check_one(amounts)
                node = node.parent

    def _check_one(self, amounts: dict[str, float]) -> None:
        assert self.budget is not None
        for key, limit in self.budget.limits().items():
            if key == "tokens":
                now = self.tokens
                add = amounts.get("prompt_tokens", 0) + amounts.get("completion_tokens", 0)
            else:
                now = self._totals[key]
                add = amounts.get(key, 0)
            timed = key.endswith("seconds")
            would_be = now + (0 if timed else add)
            if (timed and would_be >= limit) or (not timed and would_be > limit):
                raise BudgetExceeded(
                    f"budget exceeded in {self.name}: {key} would be {would_be:g} > limit {limit:g}",
                    field=key,
                    limit=limit,
                    would_be=would_be,
                    scope=self.name,
                )

    def charge(self, **amounts: float) -> None:
        """Add ``amounts`` to this ledger and every ancestor (no check: call :meth:`check` first)."""
        with self._lock:
            node: Usage | None = self
            while node is not None:
                for key, value in amounts.items():
                    node._totals[key] += value
                node = node.parent

    def remaining(self, field: str) -> float | None:
        """The smallest headroom left for ``field`` over this ledger and its ancestors."""
        left: float | None = None
        node: Usage | None = self
        while node is not None:
            if node.budget is not None:
                limit = node.budget.limits().get(field)
                if limit is not None:
                    spent = node.tokens if field == "tokens" else node._totals[field]
                    left = limit - spent if left is None else min(left, limit - spent)
            node = node.parent
        return left

    def add(self, other: Usage | dict) -> None:
        """Charge another ledger's totals (or a ``to_dict()`` of one) to this one."""
        data = other.to_dict() if isinstance(other, Usage) else other
        self.charge(**{k: v for k, v in data.items() if k in FIELDS})


def model_call(parameters: float, *, calls: int, prompt_tokens: int, completion_tokens: int) -> dict[str, float]:
    """What a model call costs in ledger fields: calls, tokens and FLOPs (2 x parameters x tokens)."""
    return {
        "calls": calls,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "flops": 2.0 * parameters * (prompt_tokens + completion_tokens),
    }


@dataclass
class Spending:
    """What :func:`spend` charges when its block ends: the checked amounts unless the block
    reports the actual ones with :meth:`actual` (a model call knows its tokens only afterwards)."""

    amounts: dict[str, float]
    timed: str | None = None
    _actual: dict[str, float] | None = field(default=None, repr=False)

    def actual(self, **amounts: float) -> None:
        """Charge ``amounts`` instead of the checked worst case."""
        self._actual = amounts


@contextlib.contextmanager
def spend(ledger: Usage | None, *, timed: str | None = None, **worst: float) -> Iterator[Spending]:
    """The one check-and-charge: raise :class:`BudgetExceeded` if ``worst`` would pass a limit of
    ``ledger`` (or an ancestor) *before* the block runs; when the block succeeds, charge the
    checked amounts or those given to :meth:`Spending.actual`, plus the block's wall time in the
    field ``timed`` (e.g. ``"seconds"``) unless the block reported that field itself. A block
    that raises is charged nothing. ``ledger=None`` checks and charges nothing."""
    spending = Spending(dict(worst), timed)
    if ledger is not None:
        ledger.check(**worst)
    start = time.perf_counter()
    yield spending
    if ledger is None:
        return
    amounts = dict(spending._actual if spending._actual is not None else spending.amounts)
    if timed is not None and timed not in amounts:
        amounts[timed] = time.perf_counter() - start
    ledger.charge(**amounts)
