"""What the agent graphs need of a web environment, declared as :class:`typing.Protocol` s.

:class:`~ponder.environments.webenv.WebEnv` (the local sites), :class:`~ponder.environments.miniwob.MiniWoBEnv`
and :class:`~ponder.environments.toy.ToyEnv` satisfy :class:`AgentEnv` structurally; nothing has to
inherit from it. The graphs read the two capability flags instead of probing for methods:

- ``can_snapshot``: ``snapshot()``/``restore()`` work. Search keeps a snapshot per visited state
  and backtracks with ``restore``; without it, it puts the environment back with ``replay``.
- ``reset_restores_state``: a reset (and so a replay) undoes everything an episode did, server
  state included. Where it does not (a real deployment), search does not take actions that look
  destructive inside branches it may abandon.

``reset(task)`` starts an episode; an environment may take more options (MiniWoB's ``seed``),
which a caller passes by giving the graphs its own ``reset()`` callable.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["AgentEnv", "EnvObservation", "EnvScore", "EnvStep", "EnvTask"]


class EnvObservation(Protocol):
    """What the agent sees after a reset or a step."""

    @property
    def text(self) -> str:
        """The page as text with integer element ids (``[12] button 'Add to cart'``)."""
        ...

    @property
    def url(self) -> str:
        """The active tab's URL."""
        ...

    @property
    def last_action_error(self) -> str | None:
        """Why the last action failed, or ``None`` (an empty string counts as none)."""
        ...

    @property
    def intent(self) -> str:
        """The task's instruction when the environment shows it (MiniWoB), else ``""``."""
        ...


class EnvStep(Protocol):
    """One step's outcome."""

    @property
    def observation(self) -> EnvObservation: ...

    @property
    def done(self) -> bool: ...

    @property
    def answer(self) -> str | None: ...

    @property
    def info(self) -> dict[str, Any]:
        """``destructive`` (the action committed irreversible state) and ``env_error`` (a message
        when the environment itself failed) are read by the graphs; other keys are free."""
        ...


class EnvScore(Protocol):
    """An episode's score."""

    @property
    def value(self) -> float:
        """In [0, 1]; 1 is a success."""
        ...


class EnvTask(Protocol):
    """A task object handed to ``reset`` (a plain task name string is accepted too)."""

    @property
    def task_id(self) -> str: ...

    @property
    def intent(self) -> str: ...


@runtime_checkable
class AgentEnv(Protocol):
    """The environment a web strategy drives (see the module docstring)."""

    @property
    def can_snapshot(self) -> bool:
        """``snapshot()`` and ``restore()`` work."""
        ...

    @property
    def reset_restores_state(self) -> bool:
        """A reset undoes everything an episode did, server state included."""
        ...

    def reset(self, task: Any) -> EnvObservation:
        """Start an episode of ``task``; the first observation."""
        ...

    def step(self, action: str) -> EnvStep:
        """Run one action as the model wrote it; a bad action is an error in the observation."""
        ...

    def snapshot(self) -> Any:
        """An opaque handle to the current state (only called when ``can_snapshot``)."""
        ...

    def restore(self, state: Any) -> EnvObservation:
        """Return exactly to a state from :meth:`snapshot`."""
        ...

    def replay(self, actions: list[str]) -> EnvObservation:
        """Start the current task again and run ``actions``; the last observation."""
        ...

    def evaluate(self) -> EnvScore:
        """Score the episode as it stands."""
        ...
