"""The origin guard: security policy that keeps a browser context on its environment's origins.

What it promises (each clause is held by a test in ``tests/tools/test_origin_guard.py``):

- **Every hop before it is sent.** A request, and every hop of its redirect chain, to anything but
  the environment's origins (another host or port, ``file://``, ``chrome://``) is refused before
  the browser sends it, for page loads and subresources (``fetch``, images, scripts, frames) alike.
  Playwright's routing sees only a request's first hop, so each page also gets a CDP session of
  the guard's own with ``Fetch`` interception, which pauses redirect hops too.
- **WebSockets.** ``new WebSocket(url)`` from a page or frame is held to the same origins through
  Playwright's ``route_web_socket`` (a refused socket is closed with code 1008 before it connects).
  Limit: that works by patching ``WebSocket`` in page frames, so a socket opened inside a dedicated
  worker is not seen; the host-resolver rules (:func:`ponder.tools.chromium.host_rules`) still keep
  it off other machines.
- **Reported with the real target.** A refused page load is recorded with the URL it was going to
  (never ``chrome-error://chromewebdata/``), also when a page navigates by itself (a
  ``javascript:`` URL, a timer, a meta refresh): the navigation request is seen when the frame asks
  for it (``Page.frameRequestedNavigation``), before any request exists.
- **The page stays.** A refused page load is cancelled (``net::ERR_ABORTED``), so the tab keeps the
  page it was on: no ``chrome-error://`` page, no history entry, and a page whose meta refresh
  leads outside cannot trap ``go_back``. A pending refresh found after an action is cancelled
  (``window.stop()``) and reported at once. (A page the guard does not watch yet, such as a popup
  whose first load is refused, gets the error page instead, which the session backs out of.)
- **Pages it does not watch yet** (a popup's first requests, a page opened by other code) have
  their whole redirect chain walked by the guard itself (``route.fetch(max_redirects=0)``, then
  each hop checked before it is requested) before the browser may follow it.

Records are kept until taken (:meth:`OriginGuard.take`), so a refusal that happens between two
actions is reported at the next one, with its real target.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

__all__ = ["Blocked", "OriginGuard", "origin", "same_origin"]

# Run in the page after an action, two macrotask turns later (by then a javascript: URL or a
# zero-delay timer has asked for its navigation): the target of a pending meta refresh, if any.
SETTLE_JS = r"""new Promise(done => setTimeout(() => setTimeout(() => {
  const m = document.querySelector('meta[http-equiv="refresh" i]');
  const c = m ? (m.getAttribute('content') || '') : '';
  const i = c.search(/url\s*=/i);
  if (i < 0) return done(null);
  const u = c.slice(i).replace(/^url\s*=\s*/i, '').trim().replace(/^['"]|['"]$/g, '');
  try { done(new URL(u, document.baseURI).href); } catch (e) { done(null); }
}, 0), 0))"""
_CANCEL_REFRESH_JS = "document.querySelectorAll('meta[http-equiv=\"refresh\" i]').forEach(m => m.remove()); window.stop()"
#: the longest redirect chain the guard walks itself (Chromium gives up after 20)
MAX_REDIRECTS = 20


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, with the default port filled in and ``ws``/``wss``
    counted as ``http``/``https`` (a WebSocket belongs to the origin of its HTTP server)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(parts.scheme, 0)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{host}:{port}"


def same_origin(a: str, b: str) -> bool:
    """Are two http(s) URLs on the same origin?"""
    return a.startswith("http") and b.startswith("http") and origin(a) == origin(b)


@dataclass
class Blocked:
    """One refused request."""

    url: str
    kind: str  # navigation or resource (a subresource or a WebSocket)
    via: str = ""  # how it was seen: route, redirect, requested, refresh


def _abort_code(navigation: bool, watched: bool) -> str:
    # A page load fails as "aborted": Chromium then keeps the current page instead of committing
    # chrome-error://chromewebdata/ (which would hide the target and break history). Not in a
    # page the guard does not watch yet (a popup): with no page to keep, Playwright would never
    # report the popup, so it gets the error page (the session then backs it out).
    return "aborted" if navigation and watched else "blockedbyclient"


class OriginGuard:
    """Holds one browser context to ``origins`` and records what it refused.

    Args:
        origins: the only origins (``scheme://host:port``) pages may load from.

    Attributes:
        records: refused page loads not yet taken (see :meth:`take`).
        resources: every refused subresource (image, script, ``fetch``) and WebSocket, ever.
    """

    def __init__(self, origins: Iterable[str]):
        self.origins = {origin(o) for o in origins}
        self.records: list[Blocked] = []
        self.resources: list[str] = []
        # page loads recorded when asked for, whose request is still to come (and be refused)
        self._asked: list[str] = []
        self._watched: dict[int, Any] = {}
        self._context: Any = None
        self._serve: Callable[[Any, Any], bool] | None = None

    # ---- policy ---------------------------------------------------------------------------------
    def allowed(self, url: str) -> bool:
        """May a page load ``url``? Only the environment's origins, ``about:blank`` and inline
        ``data:``/``blob:`` content."""
        scheme = url.split(":", 1)[0].lower()
        if scheme in ("data", "blob"):
            return True
        if url in ("about:blank", "about:srcdoc"):
            return True
        if scheme not in ("http", "https", "ws", "wss"):
            return False
        return origin(url) in self.origins

    # ---- records --------------------------------------------------------------------------------
    def record(self, url: str, kind: str, via: str) -> None:
        """Note a refusal: a page load (``kind="navigation"``) is kept for :meth:`take`; a
        subresource or WebSocket goes to :attr:`resources`."""
        if kind != "navigation":
            self.resources.append(url)
            return
        # A load the page asked for is seen twice: asked for, then its request refused (perhaps
        # in a later step); a refresh found in the page may also be asked for. Record it once.
        if via == "requested":
            self._asked.append(url)
        elif via != "refresh" and url in self._asked:
            self._asked.remove(url)
            return
        if not any(r.url == url for r in self.records):
            self.records.append(Blocked(url, kind, via))

    def take(self) -> list[Blocked]:
        """Every refused page load recorded since the last call, oldest first."""
        out, self.records = self.records, []
        return out

    def reset(self) -> None:
        """Forget what is recorded (a new episode)."""
        self.records, self._asked = [], []

    # ---- wiring -----------------------------------------------------------------------------------
    def attach(self, context, serve=None) -> None:
        """Guard ``context``: route every request and WebSocket through the guard.

        Args:
            serve: ``serve(route, request) -> bool``, tried first for allowed requests; True
                means it fulfilled the request itself (the session's snapshot restore).
        """
        self._context = context
        self._serve = serve
        context.route("**/*", self._route)
        context.route_web_socket(lambda url: True, self._websocket)

    def watch(self, page) -> None:
        """Give ``page`` the guard's own CDP session: ``Fetch`` pauses every request hop
        (redirects included) for a check, and ``Page`` events report navigations the page asks
        for. Safe to call more than once.

        Call it right after creating a page, before it loads anything. A popup is watched from
        its ``popup`` event; until then its requests are fetched by the guard itself with their
        redirects checked (:meth:`_fetch_checked`)."""
        key = id(page)
        if key in self._watched or self._context is None:
            return
        # Claimed before the first blocking call: the page event and the page's first request
        # can both ask, and a page must get exactly one such session.
        self._watched[key] = None
        try:
            cdp = self._context.new_cdp_session(page)
        except Exception:  # the page is closing
            return
        self._watched[key] = cdp
        cdp.on("Fetch.requestPaused", lambda ev: self._paused(cdp, ev))
        cdp.on("Page.frameRequestedNavigation", lambda ev: self._requested(page, ev))
        cdp.send("Page.enable")
        cdp.send("Fetch.enable", {"patterns": [{"urlPattern": "*", "requestStage": "Request"}]})

    def forget(self, page) -> None:
        self._watched.pop(id(page), None)

    def session(self, page):
        """The guard's CDP session of ``page`` (None if it has none)."""
        return self._watched.get(id(page))

    def settle(self, page) -> None:
        """After an action: let navigations the page set off (a ``javascript:`` URL, a
        zero-delay timer) ask for their target, so a refusal is recorded in this step; a pending
        meta refresh that leads outside is recorded and cancelled (``window.stop()``)."""
        cdp = self.session(page)
        if cdp is None:
            return
        try:
            res = cdp.send("Runtime.evaluate", {"expression": SETTLE_JS, "awaitPromise": True, "returnByValue": True})
        except Exception:  # the page navigated away meanwhile; what it asked for is recorded
            return
        target = (res.get("result") or {}).get("value")
        if isinstance(target, str) and not self.allowed(target):
            self.record(target, "navigation", "refresh")
            try:
                # Cancel the refresh, and drop its tag so later steps do not report it again.
                cdp.send("Runtime.evaluate", {"expression": _CANCEL_REFRESH_JS})
            except Exception:
                pass

    # ---- handlers ---------------------------------------------------------------------------------
    def _route(self, route, request) -> None:
        """Playwright's routing: the first hop of every request, on every page from its first
        request on (a popup's too, before the guard watches it)."""
        url = request.url
        try:
            navigation = request.is_navigation_request()
        except Exception:
            navigation = True
        try:
            watched = self.session(request.frame.page) is not None
        except Exception:  # a popup's page is not there yet
            watched = False
        if not self.allowed(url):
            self.record(url, "navigation" if navigation else "resource", "route")
            route.abort(_abort_code(navigation, watched))
            return
        if self._serve is not None and self._serve(route, request):
            return
        if watched:
            route.fallback()  # the page's own session checks any redirect hop
        else:
            self._fetch_checked(route, navigation)

    def _fetch_checked(self, route, navigation: bool) -> None:
        """A request of a page the guard does not watch yet (a popup's first, a page opened by
        other code): fetch it without following redirects and check where it leads before the
        browser may follow. The browser follows a redirect without routing it again, so the rest
        of the chain is walked here too (GET, each hop checked before it is sent) and the
        request is refused if any hop leads outside."""
        kind = "navigation" if navigation else "resource"
        try:
            resp = route.fetch(max_redirects=0)
            url, hop = route.request.url, resp
            for _ in range(MAX_REDIRECTS):
                location = hop.headers.get("location")
                if not (300 <= hop.status < 400 and location):
                    break
                url = urljoin(url, location)
                if not self.allowed(url):
                    self.record(url, kind, "redirect")
                    route.abort(_abort_code(navigation, False))
                    return
                hop = self._context.request.get(url, max_redirects=0)
        except Exception:
            route.abort("failed")
            return
        route.fulfill(response=resp)

    def _paused(self, cdp, ev: dict) -> None:
        """CDP ``Fetch.requestPaused``: every hop, redirects included, before it is sent."""
        url = ev["request"]["url"]
        try:
            if self.allowed(url):
                cdp.send("Fetch.continueRequest", {"requestId": ev["requestId"]})
                return
            navigation = ev.get("resourceType") == "Document"
            self.record(url, "navigation" if navigation else "resource", "redirect" if ev.get("redirectedRequestId") else "route")
            reason = "Aborted" if navigation else "BlockedByClient"  # see _abort_code
            cdp.send("Fetch.failRequest", {"requestId": ev["requestId"], "errorReason": reason})
        except Exception:  # the page (and its paused request) went away meanwhile
            pass

    def _requested(self, page, ev: dict) -> None:
        """CDP ``Page.frameRequestedNavigation``: a frame asked to go somewhere (a link, a form, a
        ``javascript:`` URL, a timer, a refresh); record a refused target now, with its URL."""
        url = ev.get("url") or ""
        if not url or url.lower().startswith("javascript:") or self.allowed(url):
            return
        self.record(url, "navigation", "requested")

    def _websocket(self, ws) -> None:
        if self.allowed(ws.url):
            ws.connect_to_server()
            return
        self.record(ws.url, "websocket", "route")
        ws.close(code=1008, reason="outside this environment's sites")
