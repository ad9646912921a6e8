"""A real browser for agents: Playwright's sync API driving Debian Chromium.

:class:`Browser` is one Chromium process (launched with flags that keep it off the network, and
restartable after a crash). :class:`BrowserSession` is one isolated browser context on it
(cookies, storage, tabs) that runs parsed :class:`~ponder.tools.actions.Action` objects, renders
observations (:mod:`ponder.tools.observation`), guards origins, and captures/applies the
browser half of a snapshot.

Origin guard (:mod:`ponder.tools.origin_guard`, where its promises are listed): every request,
every redirect hop and every WebSocket is checked against the environment's origins before it is
sent; anything else (another host or port, ``file://``, ``chrome://``) is refused and reported
with its real target at the step that caused it; downloads are refused; and Chromium itself
resolves no host name but the environment's (``--host-resolver-rules``), so even a request that
slipped past the guard could not leave the machine.

Playwright's sync API binds its objects to the thread that created them: use one session from
one thread (several sessions may share a :class:`Browser` in that thread), and not inside a
running asyncio loop.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ponder.tools import page_scripts as js
from ponder.tools.actions import Action, ActionError, ElementRef
from ponder.tools.chromium import (
    CHROMIUM_FLAGS,
    Browser,
    BrowserCrashed,
    error_line,
    find_chromium,
    host_rules,
)
from ponder.tools.observation import AXNode, AXTree, layout_styles, render_ax_tree
from ponder.tools.origin_guard import OriginGuard, same_origin

__all__ = ["CHROMIUM_FLAGS", "Browser", "BrowserCrashed", "BrowserSession", "Outcome", "PageView", "find_chromium",
           "host_rules"]

# ---- results ---------------------------------------------------------------------------------------


@dataclass
class PageView:
    """What an observation is made of."""

    text: str
    url: str
    tabs: list[str]
    tree: AXTree
    screenshot: bytes | None = None


@dataclass
class Outcome:
    """The result of running one action.

    Attributes:
        error: a message for ``last_action_error`` (None when the action worked).
        kind: the error kind: ``element`` (no such element), ``blocked`` (origin guard),
            ``timeout``, ``action`` (Playwright refused), ``input`` (bad argument).
        destructive: the action committed (or would commit) irreversible state.
        stop: the action was ``stop``; ``answer`` holds its answer.
    """

    error: str | None = None
    kind: str | None = None
    destructive: bool = False
    stop: bool = False
    answer: str | None = None
    blocked: list[str] = field(default_factory=list)


@dataclass
class _History:
    entries: list[str] = field(default_factory=list)
    index: int = -1

    def push(self, url: str) -> None:
        if self.index >= 0 and self.entries[self.index] == url:
            return
        if url == "about:blank" and self.entries:
            return
        del self.entries[self.index + 1:]
        self.entries.append(url)
        self.index = len(self.entries) - 1


_CRASH_MARKERS = ("has been closed", "target closed", "browser closed", "crash", "disconnected", "connection closed")




class BrowserSession:
    """One isolated browser context (its own cookies, storage and tabs) on a :class:`Browser`.

    Args:
        browser: the Chromium process to open the context in.
        origins: the only origins (``scheme://host:port``) pages may load from.
        viewport: page size in CSS pixels.
        action_timeout_ms: how long an element action waits for its element to be actionable.
        nav_timeout_ms: how long a navigation may take.
        typing: ``"fill"`` sets a field's value in one go (fast); ``"keys"`` types key by key
            (for pages that listen to key events, such as autocompletes).
        restore_pages: ``"cached"`` (default) restores each tab from the document captured at
            snapshot time, served from memory; ``"reload"`` fetches the URL again from the
            (restored) server. Cached is faster and exact for server-rendered pages; scripts
            run again on it, so for pages whose scripts rewrite the DOM at load use reload.
    """

    def __init__(
        self,
        browser: Browser,
        *,
        origins: Iterable[str],
        viewport: tuple[int, int] = (1280, 720),
        action_timeout_ms: int = 3000,
        nav_timeout_ms: int = 15000,
        typing: str = "fill",
        restore_pages: str = "cached",
    ):
        self.browser = browser
        self.guard = OriginGuard(origins)
        self.viewport = viewport
        self.action_timeout_ms = action_timeout_ms
        self.nav_timeout_ms = nav_timeout_ms
        self.typing = typing
        self.restore_pages = restore_pages
        self.pages: list = []
        self.active = 0
        self.blocked: list[str] = []  # page loads the guard refused in the last action
        self.downloads: list[str] = []
        self.crashed: str | None = None
        self._histories: dict[int, _History] = {}
        self._cdp: dict[int, object] = {}
        self._suppress_history: dict[int, int] = {}
        self._serve_once: dict[int, tuple[str, str]] = {}  # page -> (url, html) for restore
        self._tree: AXTree | None = None
        self._tree_page = None
        self._nonce = itertools.count(1)
        self.context = None
        self._open_context()

    # ---- setup ----------------------------------------------------------------------------
    def _open_context(self) -> None:
        try:
            ctx = self.browser.new_context(
                viewport={"width": self.viewport[0], "height": self.viewport[1]},
                accept_downloads=False,
                service_workers="block",
                java_script_enabled=True,
            )
        except Exception as e:
            if not self.browser.alive:
                raise BrowserCrashed(f"the browser died while opening a context: {error_line(e)}") from e
            raise
        ctx.set_default_timeout(self.action_timeout_ms)
        ctx.set_default_navigation_timeout(self.nav_timeout_ms)
        self.guard.attach(ctx, serve=self._serve_cached)
        ctx.on("page", self._on_page)
        self.context = ctx
        page = ctx.new_page()
        self._on_page(page)
        self.guard.watch(page)
        self.active = 0

    def _on_page(self, page) -> None:
        if any(p is page for p in self.pages):
            return
        self.pages.append(page)
        key = id(page)
        self._histories[key] = _History()
        page.on("framenavigated", lambda frame, page=page: self._on_nav(page, frame))
        page.on("download", self._on_download)
        page.on("crash", lambda _p: setattr(self, "crashed", "the page's renderer crashed"))
        page.on("close", self._on_close)
        page.on("popup", self._on_popup)

    def _on_popup(self, popup) -> None:
        """A page opened a tab (target=_blank, window.open): it becomes the active tab."""
        self._on_page(popup)
        self.guard.watch(popup)
        self.active = next(i for i, p in enumerate(self.pages) if p is popup)

    def _on_close(self, page) -> None:
        for i, p in enumerate(self.pages):
            if p is page:
                self.pages.pop(i)
                self._histories.pop(id(page), None)
                self._cdp.pop(id(page), None)
                self.guard.forget(page)
                if self.active >= len(self.pages):
                    self.active = max(0, len(self.pages) - 1)
                return

    def _on_nav(self, page, frame) -> None:
        if frame is not page.main_frame:
            return
        hist = self._histories.get(id(page))
        if hist is None:
            return
        target = self._suppress_history.pop(id(page), None)
        if target is not None:
            hist.index = target
            if 0 <= target < len(hist.entries):
                hist.entries[target] = frame.url
            return
        hist.push(frame.url)

    def _on_download(self, download) -> None:
        self.downloads.append(download.url)
        try:
            download.cancel()
        except Exception:
            pass

    @property
    def origins(self) -> set[str]:
        """The origins (``scheme://host:port``) pages may load from."""
        return self.guard.origins

    @property
    def blocked_resources(self) -> list[str]:
        """Every subresource (image, script, ``fetch``) and WebSocket the guard refused, ever."""
        return self.guard.resources

    def allowed(self, url: str) -> bool:
        """May a page load ``url``? (See :meth:`OriginGuard.allowed`.)"""
        return self.guard.allowed(url)

    def _serve_cached(self, route, request) -> bool:
        """Fulfil a tab's restore navigation from the document captured at snapshot time."""
        if not self._serve_once or not request.is_navigation_request():
            return False
        try:
            key = id(request.frame.page)
        except Exception:
            return False
        cached = self._serve_once.get(key)
        if cached is not None and cached[0] == request.url.split("#", 1)[0] and request.frame.parent_frame is None:
            del self._serve_once[key]
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=cached[1])
            return True
        return False

    # ---- pages -------------------------------------------------------------------------------
    @property
    def page(self):
        if not self.pages:
            self.new_tab()
        return self.pages[self.active]

    def new_tab(self, url: str | None = None):
        page = self.context.new_page()
        self._on_page(page)
        self.guard.watch(page)
        self.active = next(i for i, p in enumerate(self.pages) if p is page)
        if url:
            self._goto(page, url)
        return page

    def cdp(self, page=None):
        page = page or self.page
        key = id(page)
        sess = self._cdp.get(key)
        if sess is None:
            sess = self.context.new_cdp_session(page)
            self._cdp[key] = sess
        return sess

    def _goto(self, page, url: str) -> None:
        if not self.allowed(url):
            raise ActionError(f"navigation to {url} is blocked: it is outside this environment's sites")
        page.goto(url, wait_until="load")

    def open(self, urls: list[str]) -> None:
        """Open the start page(s): the first in the current tab, the rest in new tabs; the first
        tab stays active."""
        self.guard.reset()  # a new episode starts with a clean record
        for i, url in enumerate(urls):
            if i == 0:
                self._goto(self.page, url)
            else:
                self.new_tab(url)
        self.active = 0

    def check_alive(self) -> None:
        """Raise :class:`BrowserCrashed` if the browser or the active page died."""
        if self.crashed:
            raise BrowserCrashed(self.crashed)
        if not self.browser.alive:
            raise BrowserCrashed("the browser process is gone")

    # ---- observation -------------------------------------------------------------------------
    def observe(self, *, max_chars: int = 6000, screenshot: bool = False) -> PageView:
        """The active tab as text (see :mod:`ponder.tools.observation`), its URL, the tabs'
        titles, and optionally a PNG screenshot."""
        self.check_alive()
        page = self.page
        try:
            page.wait_for_load_state("load", timeout=self.nav_timeout_ms)
        except Exception as e:
            self._raise_if_crashed(e)
        calls = [("Accessibility.getFullAXTree", {}),
                 ("DOMSnapshot.captureSnapshot", {"computedStyles": ["display", "cursor"]})]
        try:
            ax, snap = _send_all(self.cdp(page), calls)
        except Exception as e:
            self._raise_if_crashed(e)
            # A navigation raced the calls; the next try sees the settled page.
            page.wait_for_load_state("load", timeout=self.nav_timeout_ms)
            ax, snap = _send_all(self.cdp(page), calls)
        nodes = ax["nodes"]
        styles = layout_styles(snap)
        top = float((snap.get("documents") or [{}])[0].get("scrollOffsetY") or 0.0)
        tree = render_ax_tree(nodes, max_chars=max_chars, styles=styles, viewport_top=top)
        self._tree, self._tree_page = tree, page
        hist = self._histories.get(id(page))
        if hist is not None and page.url != "about:blank" and (not hist.entries or hist.entries[hist.index] != page.url):
            hist.push(page.url)  # a navigation whose event came before we listened (a popup's first)
        tabs = []
        for p in self.pages:
            if p is page and tree.nodes and tree.nodes[0].role == "RootWebArea":
                tabs.append(tree.nodes[0].name or p.url)  # the root's name is the title
                continue
            try:
                tabs.append(p.title() or p.url)
            except Exception:
                tabs.append(p.url)
        shot = page.screenshot(type="png") if screenshot else None
        return PageView(tree.text, page.url, tabs, tree, shot)

    def _raise_if_crashed(self, e: BaseException) -> None:
        if isinstance(e, BrowserCrashed):
            raise e
        msg = error_line(e).lower()
        if self.crashed or not self.browser.alive or any(m in msg for m in _CRASH_MARKERS):
            raise BrowserCrashed(f"the browser failed: {error_line(e)}") from e

    # ---- actions -------------------------------------------------------------------------------
    def execute(self, action: Action, *, resolve_url: Callable[[str], str] | None = None) -> Outcome:
        """Run one action on the active tab. Failures the agent caused come back in
        :attr:`Outcome.error`; a dead browser raises :class:`BrowserCrashed`."""
        self.check_alive()
        out = Outcome()
        try:
            self._run(action, out, resolve_url)
        except ActionError as e:
            out.error = e.message
            out.kind = out.kind or ("blocked" if "blocked" in e.message else "input")
        except BrowserCrashed:
            raise
        except Exception as e:  # Playwright's errors
            self._raise_if_crashed(e)
            name = type(e).__name__
            out.kind = "timeout" if "Timeout" in name else "action"
            out.error = f"{action.name} failed: {error_line(e)}"
        self._after_action(out, action)
        return out

    def _after_action(self, out: Outcome, action: Action) -> None:
        page = self.page
        if not self.downloads and (action.name in ("click", "press") or (action.name == "type" and action.enter)):
            try:  # one round trip lets a download event that raced the click arrive
                page.evaluate("1")
            except Exception as e:
                self._raise_if_crashed(e)
        if action.name != "stop":
            self._settle(page)
        # Refusals since the last action (a navigation the page made on its own between two
        # actions included) are reported now, each with the target it was going to.
        blocked_navs = [r.url for r in self.guard.take()]
        self.blocked = blocked_navs
        if self.downloads:
            out.error = f"download blocked: {self.downloads[0]}"
            out.kind = "blocked"
        elif blocked_navs and out.error is None:
            out.error = f"blocked: {blocked_navs[0]} is outside this environment's sites"
            out.kind = "blocked"
        out.blocked = blocked_navs + self.downloads
        self.downloads = []
        # A page that still ended somewhere forbidden (chrome-error://, file:) goes back to the
        # last page it may show.
        url = page.url
        if not self.allowed(url):
            hist = self._histories.get(id(page))
            back = None
            if hist:
                keep = [i for i, u in enumerate(hist.entries[: hist.index + 1])
                        if self.allowed(u) and u != url]
                if keep:
                    back = hist.entries[keep[-1]]
                    del hist.entries[keep[-1] + 1:]
                    self._suppress_history[id(page)] = keep[-1]
            out.error = out.error or f"blocked: {url} is outside this environment's sites"
            out.kind = out.kind or "blocked"
            try:
                if back:
                    page.goto(back, wait_until="load")
                else:
                    page.goto("about:blank")
            except Exception as e:
                self._raise_if_crashed(e)
            self._settle(page)

    def _settle(self, page) -> None:
        """Wait (bounded) for the page to load, then let the guard see what the page set off."""
        try:
            page.wait_for_load_state("load", timeout=self.nav_timeout_ms)
            self.guard.settle(page)
            page.wait_for_load_state("load", timeout=self.nav_timeout_ms)
        except Exception as e:
            self._raise_if_crashed(e)

    def _run(self, a: Action, out: Outcome, resolve_url) -> None:
        page = self.page
        match a.name:
            case "stop":
                out.stop, out.answer = True, a.text or ""
            case "click":
                loc, info = self._element(a.target)
                out.destructive = bool(info and info.get("click"))
                href = (info or {}).get("href") or ""
                if href and not href.lower().startswith("javascript:") and not self.allowed(href):
                    raise ActionError(f"blocked: the link goes to {href}, outside this environment's sites")
                if (info or {}).get("popup"):
                    # Wait for the new tab so the next observation shows it, every time.
                    with self.context.expect_page(timeout=self.nav_timeout_ms) as new_page:
                        loc.click()
                    self._on_page(new_page.value)
                    self.guard.watch(new_page.value)
                    self.active = next(i for i, p in enumerate(self.pages) if p is new_page.value)
                    new_page.value.wait_for_load_state("load")
                else:
                    loc.click()
            case "hover":
                loc, _ = self._element(a.target)
                loc.hover()
            case "type":
                loc, info = self._element(a.target)
                out.destructive = bool(a.enter and info and info.get("enter"))
                self._type(loc, a.text or "", (info or {}).get("type", ""))
                if a.enter:
                    loc.press("Enter")
            case "select":
                loc, info = self._element(a.target)
                self._select(loc, a.text or "")
            case "press":
                info = page.evaluate(js.ACTIVE_FN)
                if info and "Enter" in (a.text or "").split("+"):
                    out.destructive = bool(info.get("enter"))
                page.keyboard.press(a.text)
            case "scroll":
                sign = -1 if a.text == "up" else 1
                page.evaluate("(s) => window.scrollBy(0, s * Math.round(window.innerHeight * 0.8))", sign)
            case "goto":
                url = resolve_url(a.text) if resolve_url else a.text
                if "://" not in url and not url.startswith("about:"):
                    base = page.url if page.url.startswith("http") else next(iter(sorted(self.origins)), "")
                    from urllib.parse import urljoin

                    url = urljoin(base, url)
                self._goto(page, url)
            case "go_back" | "go_forward":
                self._history_step(page, -1 if a.name == "go_back" else 1)
            case "new_tab":
                self.new_tab()
            case "tab_focus":
                if a.index is None or not 0 <= a.index < len(self.pages):
                    raise ActionError(f"tab_focus: no tab {a.index}; open tabs are 0..{len(self.pages) - 1}")
                self.active = a.index
                self.pages[a.index].bring_to_front()
            case "close_tab":
                page.close()
                if not self.pages:
                    self.new_tab()
                self.active = min(self.active, len(self.pages) - 1)
            case _:
                raise ActionError(f"unknown action {a.name!r}")

    def _history_step(self, page, delta: int) -> None:
        hist = self._histories.get(id(page))
        word = "back" if delta < 0 else "forward"
        if hist is None or not 0 <= hist.index + delta < len(hist.entries):
            raise ActionError(f"go_{word}: there is no page to go {word} to in this tab")
        target = hist.index + delta
        # Pass over pages the tab may not show (an error page left by a refused load).
        while 0 <= target < len(hist.entries) and not self.allowed(hist.entries[target]):
            target += delta
        if not 0 <= target < len(hist.entries):
            raise ActionError(f"go_{word}: there is no page to go {word} to in this tab")
        self._suppress_history[id(page)] = target
        try:
            page.goto(hist.entries[target], wait_until="load")
        finally:
            if self._suppress_history.get(id(page)) == target:  # no navigation event came
                self._suppress_history.pop(id(page), None)
                hist.index = target

    def _type(self, loc, text: str, kind: str = "") -> None:
        if kind in ("date", "time", "datetime-local", "month", "week", "color", "range"):
            # These inputs take no keystrokes in a fixed format; set the value the way a picker
            # would, accepting how people write dates (10/11/2011, 2011-10-11).
            loc.fill(_input_value(kind, text))
            return
        if self.typing == "keys":
            loc.click()
            loc.press("Control+a")
            loc.press("Delete")
            loc.press_sequentially(text)
            return
        try:
            loc.fill(text)
        except Exception as e:
            if "not an <input>" not in str(e) and "fillable" not in str(e).lower() and "contenteditable" not in str(e):
                raise
            loc.click()
            self.page.keyboard.type(text)

    def _select(self, loc, option: str) -> None:
        try:
            loc.select_option(label=option, timeout=self.action_timeout_ms)
            return
        except Exception:
            pass
        labels = loc.evaluate("e => e.options ? Array.from(e.options).map(o => [o.label, o.value]) : null")
        if labels is None:
            raise ActionError("select works on a <select> element (a combobox); use click for other menus")
        want = " ".join(option.lower().split())
        for label, value in labels:
            if want in (" ".join(label.lower().split()), value.lower()):
                loc.select_option(value=value)
                return
        shown = ", ".join(repr(lbl) for lbl, _ in labels[:12])
        raise ActionError(f"select: no option {option!r}; options are {shown}")

    def _element(self, target: int | ElementRef | None):
        """The locator for an observation id or a ``role 'name'`` reference, plus the element's
        destructiveness judgement."""
        tree = self._tree if self._tree_page is self.page else None
        if tree is None:
            tree = self.observe(max_chars=0).tree
        node: AXNode | None
        if isinstance(target, ElementRef):
            found = tree.find(target.role, target.name)
            if not found:
                raise ActionError(f"no element {target} on the page")
            node = found[0]
        elif isinstance(target, int):
            node = tree.by_id.get(target)
            if node is None:
                raise ActionError(f"no element with id [{target}] on the page; use an id from the latest observation")
        else:
            raise ActionError("this action needs an element")
        if node.backend_id is None:
            raise ActionError(f"element [{node.id}] {node.role} cannot be acted on")
        cdp = self.cdp()
        nonce = str(next(self._nonce))
        try:
            obj = cdp.send("DOM.resolveNode", {"backendNodeId": node.backend_id})["object"]
            info = cdp.send(
                "Runtime.callFunctionOn",
                {"objectId": obj["objectId"], "functionDeclaration": js.TAG_FN,
                 "arguments": [{"value": nonce}], "returnByValue": True},
            )["result"].get("value")
        except Exception as e:
            self._raise_if_crashed(e)
            raise ActionError(f"element [{node.id}] is no longer on the page; use an id from the latest observation") from e
        if info is None:
            raise ActionError(f"element [{node.id}] {node.role} cannot be acted on")
        return self.page.locator(f'[data-ponder-act="{nonce}"]'), info

    # ---- snapshot ------------------------------------------------------------------------------
    def capture(self) -> dict:
        """The browser half of a snapshot: cookies, and per tab its URL, history, form values,
        focus, scroll position and storage."""
        self.check_alive()
        tabs = []
        for p in self.pages:
            try:
                state = p.evaluate(js.CAPTURE_FN)
            except Exception as e:
                self._raise_if_crashed(e)
                state = None
            hist = self._histories.get(id(p)) or _History()
            tabs.append({"url": p.url, "state": state, "history": (list(hist.entries), hist.index)})
        return {"cookies": self.context.cookies(), "tabs": tabs, "active": self.active}

    def apply(self, snap: dict) -> None:
        """Return the context to a :meth:`capture`: same cookies, tabs, URLs (reloaded from the
        server, whose state the caller restored first), form values, focus, scroll, storage."""
        self.check_alive()
        try:
            if self.context.cookies() != snap["cookies"]:
                self.context.clear_cookies()
                if snap["cookies"]:
                    self.context.add_cookies(snap["cookies"])
            want = snap["tabs"]
            while len(self.pages) > len(want):
                self.pages[-1].close()
            while len(self.pages) < len(want):
                self.new_tab()
            for page, tab in zip(list(self.pages), want, strict=True):
                url = tab["url"]
                html = (tab["state"] or {}).get("html") if self.restore_pages == "cached" else None
                self._suppress_history[id(page)] = tab["history"][1]
                applied = False
                if html is not None and not tab["state"].get("scripted") and same_origin(page.url, url):
                    # A page without scripts: write the snapshot's document into the tab in place,
                    # no navigation at all (~10 ms instead of ~50).
                    applied = page.evaluate(js.WRITE_FN, {"html": html, "url": url, "state": tab["state"],
                                                        "scripted_selector": js.SCRIPTED_SELECTOR})
                if applied:
                    pass
                elif html is not None:
                    # Serve the document exactly as it was at snapshot time (no server round
                    # trip, and right even for pages that were stale or the result of a POST).
                    base = url.split("#", 1)[0]
                    self._serve_once[id(page)] = (base, html)
                    if page.url.split("#", 1)[0] == base and "#" in page.url:
                        page.goto("about:blank")  # a same-document hop would not reload
                    page.goto(base, wait_until="load")
                    self._serve_once.pop(id(page), None)
                    if base != url:
                        page.evaluate("(u) => history.replaceState(history.state, '', u)", url)
                else:
                    page.goto(url, wait_until="load")
                self._suppress_history.pop(id(page), None)
                hist = self._histories[id(page)]
                hist.entries, hist.index = list(tab["history"][0]), tab["history"][1]
                if tab["state"] is not None and not applied:
                    page.evaluate(js.APPLY_FN, tab["state"])
            self.active = snap["active"]
            self._tree = None
        except Exception as e:
            self._raise_if_crashed(e)
            raise

    def close(self) -> None:
        if self.context is not None:
            try:
                self.context.close()
            except Exception:
                pass
            self.context = None
        self.pages = []


def _input_value(kind: str, text: str) -> str:
    """``10/11/2011`` -> ``2011-10-11`` for date inputs (US month/day order, as MiniWoB and
    WebArena's sites write dates); anything else passes through unchanged."""
    t = text.strip()
    if kind == "date":
        m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", t)
        if m:
            return f"{m.group(3)}-{int(m.group(1)):02d}-{int(m.group(2)):02d}"
    return t


def _send(cdp, method: str, params: dict | None = None) -> dict:
    """A CDP call. The sync API's ``send`` walks the whole reply to wrap objects (~20 ms for a
    page's accessibility tree); a CDP reply is plain JSON, so call the implementation directly
    when it is there."""
    impl = getattr(cdp, "_impl_obj", None)
    if impl is not None and hasattr(cdp, "_sync"):
        return cdp._sync(impl.send(method=method, params=params or {}, timeout=None))
    return cdp.send(method, params)


def _send_all(cdp, calls: list[tuple[str, dict]]) -> list[dict]:
    """Several CDP calls sent together (one round trip of waiting instead of one per call)."""
    impl = getattr(cdp, "_impl_obj", None)
    if impl is None or not hasattr(cdp, "_sync"):
        return [cdp.send(m, p) for m, p in calls]

    async def gather():
        import asyncio

        return await asyncio.gather(*(impl.send(method=m, params=p, timeout=None) for m, p in calls))

    return list(cdp._sync(gather()))
