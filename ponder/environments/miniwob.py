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

from ponder.environments.browser_env import BrowserEnv, Observation
from ponder.environments.evaluators import Score
from ponder.errors import ConfigError, EnvError, MissingDependency
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


class MiniWoBEnv(BrowserEnv):
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
        super().__init__(browser=browser or Browser(chromium, headless=headless), own_browser=browser is None,
                         server=server or MiniWoBServer(), own_server=server is None, usage=usage,
                         screenshot=screenshot, max_obs_chars=max_obs_chars)
        self.episode_max_ms = episode_max_ms
        self.seed = 0
        self.intent = ""
        self.status: dict = {}

    def _session(self) -> BrowserSession:
        if self.session is None or not self.browser.alive:
            if self.session is not None:
                self.session.close()
            self.browser.start()
            # MiniWoB widgets (autocomplete, spinners) listen to key events: type key by key.
            self.session = BrowserSession(self.browser, origins=[self.server.url], typing="keys")
        return self.session

    def reset(self, task, seed: int = 0) -> Observation:
        """Open task ``task`` (a name like ``click-button``, ``miniwob.click-button``, or an
        object with ``task_id``) and start a seeded episode."""
        name = str(getattr(task, "task_id", task)).removesuffix(".html").split("/")[-1].removeprefix("miniwob.")
        if not (self.server.root / "miniwob" / f"{name}.html").exists():
            raise ConfigError(f"no MiniWoB++ task {name!r}", hint="see ponder.environments.miniwob.miniwob_tasks()")
        self.task, self.seed = name, int(seed)
        self._new_episode()
        self.status = {}
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

    def _intent(self) -> str:
        return self.intent

    def _crashed(self, e: BrowserCrashed) -> str:
        msg = f"environment error: {e}"
        self.env_error, self.done = msg, True
        self.session = None
        self.browser.restart()
        return msg

    def _execute(self, action, info: dict):
        outcome = self.session.execute(action)
        self._read_status()
        info["reward"] = self.status.get("raw")
        if self.status.get("done"):
            self.done = True
        return outcome

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

    def _reset_again(self) -> Observation:
        """Replay restarts the same task with the same seed."""
        return self.reset(self.task, self.seed)
