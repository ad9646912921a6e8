"""``WebEnv``: a gymnasium-style web environment over the local sites in a real browser, with
exact snapshot/restore for tree search.

    with WebEnv() as env:                      # starts its own SiteServer and Chromium
        obs = env.reset(task)                  # seeded database, fresh browser context, start URL
        res = env.step("click [12]")           # a bad action is an error in the observation
        state = env.snapshot()                 # database + URL, cookies, storage, forms, scroll, tabs
        env.step("type [5] [usb] [1]")
        env.restore(state)                     # back, in tens of milliseconds, same text, same DB
        score = env.evaluate()

Snapshot/restore never relaunches anything: the server copies a database image back and the
browser context gets its cookies back and re-loads each tab's URL from the restored server, then
puts form values, focus, scroll position and storage back. Where a snapshot is impossible (a
real WebArena deployment: ``can_snapshot`` is False), :meth:`WebEnv.replay` resets and replays
the actions instead.

A crashed browser is relaunched; the step that saw it is reported with ``done=True`` and
``info["env_error"]``, and :meth:`WebEnv.evaluate` raises :class:`~ponder.errors.EnvError` for
that episode, so runners can tell an environment failure from a task failure.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ponder.environments.browser_env import BrowserEnv, Observation, StepResult
from ponder.environments.evaluators import Score
from ponder.environments.urls import base_urls_from_env, resolve_url
from ponder.errors import EnvError, PonderError
from ponder.tools.actions import ActionError
from ponder.tools.browser import Browser, BrowserCrashed, BrowserSession

__all__ = ["Observation", "RemoteSites", "Score", "StateId", "StepResult", "WebEnv"]


@dataclass(frozen=True)
class StateId:
    """An opaque, self-contained snapshot of a :class:`WebEnv` (hashable by its ``key``)."""

    key: int
    server: Any = field(repr=False, compare=False)
    browser: dict = field(repr=False, compare=False)
    task: Any = field(repr=False, compare=False)
    actions: tuple[str, ...] = field(compare=False)
    answer: str | None = field(compare=False)
    done: bool = field(compare=False)


class RemoteSites:
    """Sites someone else runs (a real WebArena deployment): base URLs only. The env cannot
    reset or snapshot their state, so ``can_snapshot`` is False and search uses
    :meth:`WebEnv.replay`; tasks that need a login start signed out.

    Args:
        base_urls: site key -> base URL (``{"shopping": "http://host:7770"}``).
    """

    def __init__(self, base_urls: dict[str, str]):
        if not base_urls:
            raise EnvError("RemoteSites needs at least one base URL",
                           hint="set PONDER_WEBARENA_HOST or PONDER_WEBARENA_<SITE> (see ponder.environments.webarena)")
        self.base_urls = dict(base_urls)

    @classmethod
    def from_env(cls) -> RemoteSites:
        """Base URLs from ``PONDER_WEBARENA_*`` environment variables."""
        return cls(base_urls_from_env())

    def start(self) -> RemoteSites:
        return self

    def stop(self) -> None:
        pass


_state_keys = itertools.count(1)


class WebEnv(BrowserEnv):
    """A web environment over :class:`~ponder.environments.server.SiteServer` sites in Chromium.

    Args:
        server: the sites to act on; when None the env starts (and later stops) its own.
        chromium: the Chromium executable (default: ``chromium`` on PATH).
        headless: run Chromium without a window.
        usage: a :class:`~ponder.usage.Usage` ledger; each step charges ``env_steps=1`` and its
            wall time to ``env_seconds`` (checked against the budget before the step).
        screenshot: attach a PNG screenshot to every observation.
        max_obs_chars: cut the observation text past this many characters.
        judge: the judge model for ``fuzzy_match`` evaluation (None: the deterministic fallback).
        browser: share a running :class:`~ponder.tools.browser.Browser` (same thread) instead of
            launching one.
        seed: the data seed of the server the env starts itself.
        viewport: the page size in CSS pixels (a long page's observation starts at its top).
    """

    #: snapshot()/restore() work (False for a real WebArena deployment: use replay()).
    can_snapshot = True
    #: A reset puts the server's database back to its seeded state.
    reset_restores_state = True

    def __init__(
        self,
        *,
        server=None,
        chromium: str | None = None,
        headless: bool = True,
        usage=None,
        screenshot: bool = False,
        max_obs_chars: int = 6000,
        judge=None,
        browser: Browser | None = None,
        seed: int = 0,
        viewport: tuple[int, int] = (1280, 720),
    ):
        self._own_server = server is None
        if server is None:
            from ponder.environments.server import SiteServer

            server = SiteServer(seed=seed)
        if not server.base_urls:
            server.start()
        # A server that cannot snapshot (RemoteSites) makes this env replay-only.
        self.can_snapshot = callable(getattr(server, "snapshot", None))
        self.reset_restores_state = callable(getattr(server, "reset", None))
        hosts = {"localhost", "127.0.0.1"} | {urlsplit(u).hostname or "" for u in server.base_urls.values()}
        super().__init__(browser=browser or Browser(chromium, headless=headless, hosts=hosts - {""}),
                         own_browser=browser is None, server=server, own_server=self._own_server, usage=usage,
                         screenshot=screenshot, max_obs_chars=max_obs_chars)
        self.judge = judge
        self.viewport = tuple(viewport)

    # ---- helpers --------------------------------------------------------------------------------
    @property
    def origins(self) -> list[str]:
        return sorted(set(self.server.base_urls.values()))

    def _new_session(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None
        self.browser.start()
        try:
            self.session = BrowserSession(self.browser, origins=self.origins, viewport=self.viewport)
        except BrowserCrashed:
            self.browser.restart()
            self.session = BrowserSession(self.browser, origins=self.origins, viewport=self.viewport)

    def _recover(self, e: BaseException) -> str:
        """The browser died: relaunch it with a fresh context so the env is usable again."""
        msg = f"environment error: {e}"
        self.env_error = msg
        self.done = True
        try:
            if self.session is not None:
                self.session.close()
        except Exception:
            pass
        self.session = None
        self.browser.restart()
        self.session = BrowserSession(self.browser, origins=self.origins, viewport=self.viewport)
        return msg

    _crashed = _recover

    def _execute(self, action, info: dict):
        outcome = self.session.execute(action, resolve_url=self._resolve)
        info["destructive"] = outcome.destructive
        info["blocked"] = outcome.blocked
        return outcome

    def _resolve(self, url: str) -> str:
        try:
            return resolve_url(url, self.server.base_urls)
        except PonderError as e:  # an unknown placeholder is the agent's mistake, not a crash
            raise ActionError(f"goto: {e.message}") from e

    def _start_urls(self, task) -> list[str]:
        raw = getattr(task, "start_url", "") or ""
        urls = [u.strip() for u in raw.split("|AND|") if u.strip()]
        return [resolve_url(u, self.server.base_urls) for u in urls] or [next(iter(self.server.base_urls.values()))]

    # ---- the gymnasium-style API ---------------------------------------------------------------
    def reset(self, task) -> Observation:
        """Start an episode: the server back to its seeded state, a fresh browser context (logged
        in when the task says ``require_login``), the task's start URL(s) open. Its wall time is
        charged to ``env_seconds`` (not a step)."""
        with self._charged():
            return self._reset(task)

    def _charged(self):
        """Charge a block's wall time to ``env_seconds`` of the ledger, if there is one."""
        return self.usage.timer("env_seconds") if self.usage is not None else contextlib.nullcontext()

    def _reset(self, task) -> Observation:
        self.task = task
        self._new_episode()
        if self.reset_restores_state:
            self.server.reset()
        for attempt in (0, 1):
            try:
                self._new_session()
                if getattr(task, "require_login", False) and hasattr(self.server, "login_cookies"):
                    cookies = []
                    for site in getattr(task, "sites", []) or []:
                        if site in self.server.base_urls:
                            cookies += self.server.login_cookies(site)
                    if cookies:
                        self.session.context.add_cookies(cookies)
                self.session.open(self._start_urls(task))
                return self._observe()
            except BrowserCrashed:
                if attempt:
                    raise
                self.browser.restart()
        raise EnvError("unreachable")  # pragma: no cover

    def snapshot(self) -> StateId:
        """Capture the whole state: the server's database and the browser context (cookies,
        storage, each tab's URL, history, form values, focus and scroll), plus the episode's
        actions, answer and done flag."""
        if self.session is None:
            raise EnvError("snapshot() before reset()", hint="call env.reset(task) first")
        if not self.can_snapshot:
            raise EnvError("these sites' server state cannot be snapshotted", hint="use env.replay(actions)")
        try:
            browser_state = self.session.capture()
        except BrowserCrashed as e:
            raise EnvError(self._recover(e)) from e
        return StateId(next(_state_keys), self.server.snapshot(), browser_state, self.task,
                       tuple(self.actions_taken), self.answer, self.done)

    def restore(self, state: StateId) -> Observation:
        """Return exactly to ``state``: same database content, same observation text. Its wall
        time is charged to ``env_seconds`` (not a step)."""
        if not isinstance(state, StateId):
            raise EnvError(f"restore() needs a StateId from snapshot(), got {type(state).__name__}")
        with self._charged():
            return self._restore(state)

    def _restore(self, state: StateId) -> Observation:
        if self.session is None:
            self._new_session()
        self.server.restore(state.server)
        self.task = state.task
        self.actions_taken = list(state.actions)
        self.answer, self.done, self.env_error = state.answer, state.done, None
        try:
            self.session.apply(state.browser)
            return self._observe()
        except BrowserCrashed as e:
            self._recover(e)
            self.env_error = None
            self.done = state.done
            self.session.apply(state.browser)
            return self._observe()

    def evaluate(self) -> Score:
        """Score the episode with the task's evaluator (WebArena's semantics).

        Raises:
            EnvError: the episode hit an environment failure; it has no task score.
        """
        if self.task is None:
            raise EnvError("evaluate() before reset()", hint="call env.reset(task) first")
        if self.env_error:
            raise EnvError(f"the episode hit an environment error and cannot be scored: {self.env_error}")
        from ponder.environments.evaluators import evaluate

        try:
            return evaluate(self.task, answer=self.answer, page=self.page, server=self.server, judge=self.judge)
        except BrowserCrashed as e:
            raise EnvError(self._recover(e)) from e
        except PonderError:
            raise
