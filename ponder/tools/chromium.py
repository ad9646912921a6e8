"""The Chromium process: find the executable, launch it through Playwright's sync API with
flags that keep it off the network, notice when it dies, relaunch it.

One Playwright driver runs per thread and is shared by every :class:`Browser` in that thread
(the sync API allows one per thread).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterable

from ponder.errors import EnvError, MissingDependency

#: Chromium flags: headless, no GPU, and nothing that phones home (without the
#: background-networking flags Chromium keeps trying to reach the network).
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--metrics-recording-only",
    "--no-pings",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,InterestFeedContentSuggestions",
    "--dns-prefetch-disable",
)


def host_rules(hosts: Iterable[str]) -> str:
    """The ``--host-resolver-rules`` flag that resolves no host name except ``hosts``: the
    browser cannot reach another machine even if a request slipped past the origin guard."""
    excl = "".join(f", EXCLUDE {h}" for h in sorted(set(hosts)))
    return f"--host-resolver-rules=MAP * ~NOTFOUND{excl}"


def error_line(e: BaseException) -> str:
    """The first line of an exception's message (Playwright's carry a long call log)."""
    text = str(getattr(e, "message", None) or e).strip()
    return text.split("\n", 1)[0].strip()[:300]


class BrowserCrashed(EnvError):
    """Chromium (or the page's renderer) died; the browser is restarted and the episode is an
    environment error, not a task failure."""


def find_chromium(path: str | None = None) -> str:
    """The Chromium executable: ``path``, else ``$PONDER_CHROMIUM``, else ``chromium`` (or
    ``chromium-browser``, ``google-chrome``) on PATH."""
    for cand in (path, os.environ.get("PONDER_CHROMIUM")):
        if cand:
            found = shutil.which(cand) or (cand if os.path.exists(cand) else None)
            if not found:
                raise MissingDependency(f"Chromium executable {cand!r} not found", hint="check the path, or unset PONDER_CHROMIUM")
            return found
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    raise MissingDependency(
        "no Chromium executable on PATH",
        hint="apt-get install chromium (or `make chromium`), or pass chromium=/path/to/chrome",
    )


# ---- the Playwright driver: one per thread, shared by every Browser in that thread ---------------

_local = threading.local()


def _driver():
    pw = getattr(_local, "pw", None)
    if pw is None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as e:  # pragma: no cover - the [web] extra is missing
            raise MissingDependency("the optional package 'playwright' is not installed", hint="pip install 'ponder[web]'") from e
        _local.manager = sync_playwright()
        _local.pw = pw = _local.manager.start()
        _local.users = 0
    _local.users += 1
    return pw


def _release_driver() -> None:
    if getattr(_local, "pw", None) is None:
        return
    _local.users -= 1
    if _local.users <= 0:
        try:
            _local.manager.__exit__(None, None, None)
        finally:
            _local.pw = None
            _local.manager = None


def _chromium_pids() -> set[int]:
    """Main Chromium processes below this process (children of the Playwright driver)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover
        return set()
    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if "chrom" in p.name().lower() and "chrom" not in p.parent().name().lower():
                out.add(p.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, AttributeError):
            continue
    return out


class Browser:
    """One headless Chromium process.

    Args:
        executable_path: the Chromium binary (default: :func:`find_chromium`).
        headless: run without a window (the default; needs no display).
        args: extra Chromium flags, added to :data:`CHROMIUM_FLAGS`.
        hosts: the only host names Chromium may resolve (loopback by default; add the hosts of a
            real WebArena deployment to reach it).
    """

    def __init__(
        self,
        executable_path: str | None = None,
        *,
        headless: bool = True,
        args: Iterable[str] = (),
        hosts: Iterable[str] = ("localhost", "127.0.0.1", "[::1]"),
    ):
        self.executable_path = find_chromium(executable_path)
        self.headless = headless
        self.args = list(CHROMIUM_FLAGS) + [host_rules(hosts)] + list(args)
        self._browser = None
        self._pw = None
        self.pid: int | None = None
        self.restarts = 0

    def start(self) -> Browser:
        if self._browser is not None and self._browser.is_connected():
            return self
        if self._pw is None:
            self._pw = _driver()
        before = _chromium_pids()
        try:
            self._browser = self._pw.chromium.launch(
                executable_path=self.executable_path, headless=self.headless, args=self.args
            )
        except Exception as e:
            raise EnvError(f"could not launch Chromium at {self.executable_path}: {error_line(e)}",
                           hint="check the executable (chromium --version) and its flags") from e
        new = _chromium_pids() - before
        self.pid = min(new) if new else None
        return self

    @property
    def alive(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    def restart(self) -> Browser:
        """Throw away the old process (dead or not) and launch a new one."""
        old = self._browser
        self._browser = None
        if old is not None:
            try:
                old.close()
            except Exception:
                pass
        self.restarts += 1
        return self.start()

    def new_context(self, **kwargs):
        self.start()
        return self._browser.new_context(**kwargs)

    def close(self) -> None:
        if self._browser is not None:
            try:
                self._browser.close()
            except Exception:
                pass
            self._browser = None
        if self._pw is not None:
            self._pw = None
            _release_driver()

    def __enter__(self) -> Browser:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
