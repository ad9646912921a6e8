"""What every browser-backed environment shares (:class:`~ponder.environments.webenv.WebEnv` on
the local sites, :class:`~ponder.environments.miniwob.MiniWoBEnv` on MiniWoB++ pages): the
episode's bookkeeping, observations, a step that is charged to the usage ledger and survives a
crashed browser, replay, and owning (or sharing) the browser and the server.

Subclasses provide ``reset``, ``evaluate``, ``snapshot``/``restore``, and three hooks:
``_intent`` (the objective shown with each observation), ``_execute`` (run a parsed action) and
``_crashed`` (recover from a dead browser and say what happened)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ponder.errors import EnvError
from ponder.tools.actions import Action, ActionError, parse_action
from ponder.tools.browser import Browser, BrowserCrashed, BrowserSession
from ponder.usage import spend


@dataclass
class Observation:
    """What the agent sees after each step.

    Attributes:
        text: the accessibility tree as text with integer ids (``[12] button 'Add to cart'``).
        url: the active tab's URL.
        tabs: the open tabs' titles (the active one is ``tabs[active_tab]``).
        last_action_error: why the last action failed, or None.
        screenshot: a PNG of the active tab when the env was made with ``screenshot=True``.
        intent: the task's instruction.
        active_tab: index of the active tab.
    """

    text: str
    url: str
    tabs: list[str]
    last_action_error: str | None
    screenshot: bytes | None = None
    intent: str = ""
    active_tab: int = 0


@dataclass
class StepResult:
    """One step's outcome. ``info`` holds ``action`` (the parsed action as a dict, or None),
    ``destructive`` (the action commits irreversible state), ``error`` (the error kind: ``parse``,
    ``element``, ``blocked``, ``timeout``, ``action``, ``input``, ``done``, ``env``, or None),
    ``env_error`` (a message when the environment itself failed), ``blocked`` (refused URLs) and
    ``ms`` (the step's wall time)."""

    observation: Observation
    done: bool
    answer: str | None
    info: dict


class BrowserEnv:
    """The shared part of a gymnasium-style environment over pages in Chromium."""

    def __init__(self, *, browser: Browser, own_browser: bool, server: Any, own_server: bool, usage=None,
                 screenshot: bool = False, max_obs_chars: int = 6000):
        self.browser, self._own_browser = browser, own_browser
        self.server, self._own_server = server, own_server
        self.usage = usage
        self.screenshot = screenshot
        self.max_obs_chars = max_obs_chars
        self.session: BrowserSession | None = None
        self.task: Any = None
        self.last_observation: Observation | None = None
        self._new_episode()

    def _new_episode(self) -> None:
        self.actions_taken: list[str] = []
        self.answer: str | None = None
        self.done = False
        self.env_error: str | None = None

    # ---- hooks ---------------------------------------------------------------------------------
    def _intent(self) -> str:
        return getattr(self.task, "intent", "") or ""

    def _execute(self, action: Action, info: dict):
        """Run ``action`` in the session; return the browser's outcome (``info`` may be filled)."""
        return self.session.execute(action)

    def _crashed(self, e: BrowserCrashed) -> str:
        """The browser died mid-step: make the env usable again and return the error message."""
        raise NotImplementedError

    # ---- shared behaviour ----------------------------------------------------------------------
    @property
    def page(self):
        """The active tab's Playwright page (for evaluators and debugging)."""
        return self.session.page if self.session else None

    def _observe(self, error: str | None = None) -> Observation:
        view = self.session.observe(max_chars=self.max_obs_chars, screenshot=self.screenshot)
        obs = Observation(view.text, view.url, view.tabs, error, view.screenshot, self._intent(), self.session.active)
        self.last_observation = obs
        return obs

    def step(self, action: str) -> StepResult:
        """Run one action (text as a model wrote it). Bad or failed actions come back as
        ``last_action_error``; only a budget overrun raises (:class:`BudgetExceeded`). A crashed
        browser ends the episode with ``info["env_error"]`` and is relaunched."""
        if self.session is None or self.task is None:
            raise EnvError("step() before reset()", hint="call env.reset(task) first")
        with spend(self.usage, env_steps=1) as spending:
            start = time.perf_counter()
            info: dict = {"action": None, "destructive": False, "error": None, "env_error": None, "blocked": []}
            try:
                result = self._step(action, info)
            except BrowserCrashed as e:
                msg = self._crashed(e)
                info.update(error="env", env_error=msg)
                obs = Observation("", "", [], msg, None, self._intent())
                self.last_observation = obs
                result = StepResult(obs, True, None, info)
            elapsed = time.perf_counter() - start
            info["ms"] = round(elapsed * 1000, 2)
            spending.actual(env_steps=1, env_seconds=elapsed)
        return result

    def _step(self, text: str, info: dict) -> StepResult:
        if self.done:
            info["error"] = "done"
            return StepResult(self._observe("the episode has ended; reset() to start another"), True, self.answer, info)
        self.actions_taken.append(text)
        try:
            action = parse_action(text)
        except ActionError as e:
            info["error"] = "parse"
            return StepResult(self._observe(str(e)), False, None, info)
        info["action"] = action.to_dict()
        outcome = self._execute(action, info)
        if outcome.error:
            info["error"] = "element" if outcome.error.startswith(("no element", "element [")) else outcome.kind
        if outcome.stop:
            self.done, self.answer = True, outcome.answer
        return StepResult(self._observe(outcome.error), self.done, self.answer, info)

    def replay(self, actions: list[str]) -> Observation:
        """Reset to the current task and run ``actions`` again: the fallback where a snapshot is
        impossible. Returns the last observation."""
        if self.task is None:
            raise EnvError("replay() before reset()", hint="call env.reset(task) first")
        obs = self._reset_again()
        for a in actions:
            res = self.step(a)
            obs = res.observation
            if res.info.get("env_error"):
                break
        return obs

    def _reset_again(self) -> Observation:
        return self.reset(self.task)

    def close(self) -> None:
        """Close the browser context, and the browser and server if this env started them."""
        if self.session is not None:
            self.session.close()
            self.session = None
        if self._own_browser:
            self.browser.close()
        if self._own_server:
            self.server.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Parsing is exposed for agents that want to validate an action before spending a step.
    @staticmethod
    def parse(action: str) -> Action:
        """Parse an action string (raises :class:`~ponder.tools.actions.ActionError`)."""
        return parse_action(action)
