"""MiniWoB++ through the same observation and action interface as :class:`WebEnv`.

The task pages ship in the ``miniwob`` PyPI package (``miniwob/html/miniwob/<task>.html``); they
are served from a small static server on loopback. An episode is started the way the package's
own Selenium driver does it: ``Math.seedrandom(seed); core.startEpisodeReal()`` (the START cover
is skipped), with the episode timer raised so a slow model is not cut off. The instruction comes
from ``core.getUtterance()``; after each action the page's ``WOB_DONE_GLOBAL``,
``WOB_RAW_REWARD_GLOBAL`` (-1..1), ``WOB_REWARD_GLOBAL`` (time-discounted) and
``WOB_REWARD_REASON`` are read.

    env = MiniWoBEnv()
    obs = env.reset("click-button", seed=3)     # obs.intent: 'Click on the "ok" button.'
    res = env.step("click [button 'ok']")       # res.done is True once the page says so
    env.evaluate().value                         # 1.0: the raw reward, floored at 0

Tasks that need pixel coordinates (drawing, dragging, canvases) cannot be done with WebArena's
action space; :data:`RECOMMENDED_TASKS` lists those that can.
"""

from __future__ import annotations

import functools
import http.server
import threading
import time
from pathlib import Path

from ponder.environments.webenv import Observation, Score, StepResult
from ponder.errors import ConfigError, EnvError, MissingDependency
from ponder.tools.actions import ActionError, parse_action
from ponder.tools.browser import Browser, BrowserCrashed, BrowserSession

#: Tasks doable through the accessibility tree and WebArena's actions (no coordinates, no
#: canvases), in rough order of difficulty.
RECOMMENDED_TASKS = (
    "click-button",
    "click-link",
    "focus-text",
    "click-dialog",
    "click-test",
    "click-test-2",
    "enter-text",
    "enter-password",
    "enter-text-dynamic",
    "click-button-sequence",
    "click-dialog-2",
    "click-option",
    "click-checkboxes",
    "click-tab",
    "click-widget",
    "focus-text-2",
    "choose-list",
    "login-user",
    "enter-text-2",
    "click-collapsible",
    "click-collapsible-2",
    "click-tab-2-easy",
    "unicode-test",
    "enter-date",
    "form-sequence",
    "email-inbox-delete",
    "navigate-tree",
    "social-media",
    "search-engine",
    "read-table",
    "simple-arithmetic",
    "multi-orderings",
    "click-checkboxes-large",
)

# Hide what is not the task: the reward panel and the START cover.
_HIDE_CSS = "#reward-display, #sync-task-cover { display: none !important; }"
_START_FN = """(a) => {
  Math.seedrandom(a.seed);
  core.EPISODE_MAX_TIME = a.max_ms;
  core.startEpisodeReal();
  const s = document.createElement('style'); s.textContent = a.css; document.head.appendChild(s);
  return typeof WOB_TASK_READY === 'undefined' ? true : WOB_TASK_READY;
}"""
_STATUS_FN = """() => ({done: !!WOB_DONE_GLOBAL, reward: WOB_REWARD_GLOBAL, raw: WOB_RAW_REWARD_GLOBAL,
  reason: WOB_REWARD_REASON == null ? null : String(WOB_REWARD_REASON), ready: typeof WOB_TASK_READY === 'undefined' ? true : !!WOB_TASK_READY})"""


def miniwob_html_dir() -> Path:
    """The ``html`` folder of the installed ``miniwob`` package."""
    try:
        import miniwob
    except ImportError as e:
        raise MissingDependency("the optional package 'miniwob' is not installed", hint="pip install 'ponder[web]'") from e
    return Path(miniwob.__file__).parent / "html"


def miniwob_tasks() -> list[str]:
    """Every task page the installed package ships."""
    return sorted(p.stem for p in (miniwob_html_dir() / "miniwob").glob("*.html"))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no access log on stderr
        pass

    def guess_type(self, path) -> str:
        # The pages are UTF-8 but few say so; without a charset Chromium reads them as Latin-1.
        kind = super().guess_type(path)
        return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind.endswith("javascript") else kind


class MiniWoBServer:
    """A static file server for ``miniwob/html`` on ``127.0.0.1`` (a free port by default)."""

    def __init__(self, port: int = 0):
        self.root = miniwob_html_dir()
        handler = functools.partial(_Quiet, directory=str(self.root))
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"miniwob:{self.port}", daemon=True)
        self._thread.start()

    def task_url(self, task: str) -> str:
        return f"{self.url}/miniwob/{task}.html"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class MiniWoBEnv:
    """MiniWoB++ tasks with :class:`~ponder.environments.webenv.WebEnv`'s observations and actions.

    Args:
        chromium: the Chromium executable (default: ``chromium`` on PATH).
        headless: run without a window.
        usage: a :class:`~ponder.usage.Usage` ledger charged ``env_steps``/``env_seconds``.
        screenshot: attach a PNG screenshot to every observation.
        max_obs_chars: cut the observation text past this many characters.
        episode_max_ms: the page's episode timer (MiniWoB's default of 10 s is far too short
            for a language model; the raw reward ignores time either way).
        browser: share a running :class:`~ponder.tools.browser.Browser` (same thread).
        server: share a running :class:`MiniWoBServer`.
    """

    #: The page's JavaScript state cannot be captured: tree search uses :meth:`replay`.
    can_snapshot = False
    #: A reset reloads the page: nothing an earlier episode did persists.
    reset_restores_state = True

    def __init__(
        self,
        *,
        chromium: str | None = None,
        headless: bool = True,
        usage=None,
        screenshot: bool = False,
        max_obs_chars: int = 6000,
        episode_max_ms: int = 600_000,
        browser: Browser | None = None,
        server: MiniWoBServer | None = None,
    ):
        self._own_server = server is None
        self.server = server or MiniWoBServer()
        self._own_browser = browser is None
        self.browser = browser or Browser(chromium, headless=headless)
        self.usage = usage
        self.screenshot = screenshot
        self.max_obs_chars = max_obs_chars
        self.episode_max_ms = episode_max_ms
        self.session: BrowserSession | None = None
        self.task: str | None = None
        self.seed = 0
        self.intent = ""
        self.actions_taken: list[str] = []
        self.answer: str | None = None
        self.done = False
        self.env_error: str | None = None
        self.status: dict = {}
        self.last_observation: Observation | None = None

    @property
    def page(self):
        return self.session.page if self.session else None

    def _session(self) -> BrowserSession:
        if self.session is None or not self.browser.alive:
            if self.session is not None:
                self.session.close()
            self.browser.start()
            # MiniWoB widgets (autocomplete, spinners) listen to key events: type key by key.
            self.session = BrowserSession(self.browser, origins=[self.server.url], typing="keys")
        return self.session

    def _observe(self, error: str | None = None) -> Observation:
        view = self.session.observe(max_chars=self.max_obs_chars, screenshot=self.screenshot)
        obs = Observation(view.text, view.url, view.tabs, error, view.screenshot, self.intent, self.session.active)
        self.last_observation = obs
        return obs

    def reset(self, task, seed: int = 0) -> Observation:
        """Open task ``task`` (a name like ``click-button``, ``miniwob.click-button``, or an
        object with ``task_id``) and start a seeded episode."""
        name = str(getattr(task, "task_id", task)).removesuffix(".html").split("/")[-1].removeprefix("miniwob.")
        if not (self.server.root / "miniwob" / f"{name}.html").exists():
            raise ConfigError(f"no MiniWoB++ task {name!r}", hint="see ponder.environments.miniwob.miniwob_tasks()")
        self.task, self.seed = name, int(seed)
        self.actions_taken, self.answer, self.done, self.env_error, self.status = [], None, False, None, {}
        for attempt in (0, 1):
            try:
                session = self._session()
                while len(session.pages) > 1:
                    session.pages[-1].close()
                session.active = 0
                page = session.page
                page.goto(self.server.task_url(name), wait_until="load")
                ready = page.evaluate(_START_FN, {"seed": self.seed, "max_ms": self.episode_max_ms, "css": _HIDE_CSS})
                deadline = time.monotonic() + 5
                while not ready and time.monotonic() < deadline:
                    time.sleep(0.05)
                    ready = page.evaluate("() => WOB_TASK_READY")
                self.intent = page.evaluate("() => core.getUtterance()") or ""
                return self._observe()
            except BrowserCrashed:
                if attempt:
                    raise
                self.browser.restart()
                self.session = None
        raise EnvError("unreachable")  # pragma: no cover

    def step(self, action: str) -> StepResult:
        """Run one action; ``done`` turns True when the page ends the episode or on ``stop``."""
        if self.session is None or self.task is None:
            raise EnvError("step() before reset()", hint="call env.reset(task_name) first")
        if self.usage is not None:
            self.usage.check(env_steps=1)
        start = time.perf_counter()
        info: dict = {"action": None, "destructive": False, "error": None, "env_error": None, "blocked": []}
        try:
            result = self._step(action, info)
        except BrowserCrashed as e:
            msg = f"environment error: {e}"
            self.env_error, self.done = msg, True
            self.session = None
            self.browser.restart()
            info.update(error="env", env_error=msg)
            obs = Observation("", "", [], msg, None, self.intent)
            result = StepResult(obs, True, None, info)
        elapsed = time.perf_counter() - start
        info["ms"] = round(elapsed * 1000, 2)
        if self.usage is not None:
            self.usage.charge(env_steps=1, env_seconds=elapsed)
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
        outcome = self.session.execute(action)
        if outcome.error:
            info["error"] = "element" if outcome.error.startswith(("no element", "element [")) else outcome.kind
        self._read_status()
        info["reward"] = self.status.get("raw")
        if outcome.stop:
            self.done, self.answer = True, outcome.answer
        if self.status.get("done"):
            self.done = True
        return StepResult(self._observe(outcome.error), self.done, self.answer, info)

    def _read_status(self) -> None:
        if self.status.get("done"):
            return  # the first outcome counts; the page may start over later
        try:
            self.status = self.session.page.evaluate(_STATUS_FN)
        except Exception as e:
            self.session._raise_if_crashed(e)
            self.status = {}

    def evaluate(self) -> Score:
        """The episode's raw MiniWoB++ reward floored at 0 (1.0 = solved; some tasks give
        partial credit); details hold the raw and time-discounted rewards and the reason."""
        if self.task is None:
            raise EnvError("evaluate() before reset()", hint="call env.reset(task_name) first")
        if self.env_error:
            raise EnvError(f"the episode hit an environment error and cannot be scored: {self.env_error}")
        self._read_status()
        raw = float(self.status.get("raw") or 0.0)
        done = bool(self.status.get("done"))
        return Score(max(0.0, raw) if done else 0.0, {
            "task": self.task, "seed": self.seed, "done": done, "raw_reward": raw,
            "reward": float(self.status.get("reward") or 0.0), "reason": self.status.get("reason"),
        })

    def snapshot(self):
        raise EnvError("MiniWoB++ pages keep their state in JavaScript and cannot be snapshotted",
                       hint="use env.replay(actions) (can_snapshot is False)")

    def restore(self, state):
        self.snapshot()

    def replay(self, actions: list[str]) -> Observation:
        """Restart the same task and seed and run ``actions`` again."""
        if self.task is None:
            raise EnvError("replay() before reset()", hint="call env.reset(task_name) first")
        obs = self.reset(self.task, self.seed)
        for a in actions:
            res = self.step(a)
            obs = res.observation
            if res.info.get("env_error"):
                break
        return obs

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None
        if self._own_browser:
            self.browser.close()
        if self._own_server:
            self.server.stop()

    def __enter__(self) -> MiniWoBEnv:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
