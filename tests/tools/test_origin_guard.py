"""The origin guard's promises (ponder/tools/origin_guard.py, docs/environments.md), each held
against real Chromium and two real loopback servers: the environment's site, and another port
that must never be reached (it records every request it gets)."""

import http.server
import threading

import pytest

from ponder.tools.actions import parse_action
from ponder.tools.browser import BrowserSession
from ponder.tools.origin_guard import OriginGuard, origin

pytestmark = pytest.mark.slow

OTHER_HITS: list[str] = []


def _pages(other: str) -> dict[str, str]:
    return {
        "/": """<!doctype html><title>Home</title><h1>Home</h1>
<a href="/redir-out">Redirecting link</a> <a href="/hop">Two hops</a> <a href="/late">Late</a>
<a href="/trap0">Instant trap</a> <a href="/trap-slow">Slow trap</a> <a href="/local-redirect">Local redirect</a>""",
        "/late": f"""<!doctype html><title>Late</title>
<a href="javascript:location.href='{other}/js'">Script link</a>
<button onclick="setTimeout(() => {{ location.href = '{other}/timer'; }}, 0)">Timer</button>""",
        "/trap0": f"""<!doctype html><meta http-equiv="refresh" content="0; url={other}/refresh0"><title>Trap</title><p>trap""",
        "/trap-slow": f"""<!doctype html><meta http-equiv="refresh" content="30;URL='{other}/refresh30'"><title>Slow trap</title><p>slow""",
        "/done": """<!doctype html><title>Done</title><p>done""",
    }


def _redirects(other: str) -> dict[str, str]:
    return {"/redir-out": f"{other}/secret", "/hop": "/redir-out", "/local-redirect": "/done"}


class _Site(http.server.BaseHTTPRequestHandler):
    other = ""

    def log_message(self, *a):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        target = _redirects(self.other).get(path)
        if target:
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        page = _pages(self.other).get(path)
        body = (page or "not found").encode()
        self.send_response(200 if page else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Other(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        OTHER_HITS.append(self.path)
        body = b"the other server's secret"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(handler):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture(scope="module")
def servers():
    other = _serve(_Other)
    other_url = f"http://127.0.0.1:{other.server_address[1]}"
    handler = type("Site", (_Site,), {"other": other_url})
    site = _serve(handler)
    yield f"http://127.0.0.1:{site.server_address[1]}", other_url
    for s in (site, other):
        s.shutdown()
        s.server_close()


@pytest.fixture
def session(browser, servers):
    OTHER_HITS.clear()
    s = BrowserSession(browser, origins=[servers[0]])
    yield s
    s.close()


def run(session, text):
    out = session.execute(parse_action(text))
    return out, session.observe()


def test_policy_origins_and_schemes():
    guard = OriginGuard(["http://127.0.0.1:8000"])
    assert guard.allowed("http://127.0.0.1:8000/shop/") and guard.allowed("ws://127.0.0.1:8000/live")
    assert not guard.allowed("http://127.0.0.1:8001/") and not guard.allowed("ws://127.0.0.1:8001/")
    assert not guard.allowed("file:///etc/passwd") and not guard.allowed("chrome://settings")
    assert guard.allowed("about:blank") and guard.allowed("data:text/html,x")
    assert origin("HTTP://LocalHost/x") == "http://localhost:80" and origin("wss://h/x") == "https://h:443"


def test_a_redirect_to_another_port_is_refused_before_it_is_sent(session, servers):
    site, other = servers
    session.open([site + "/"])
    session.observe()
    # fetch() in the page: the 302's target is never requested, and the refusal is recorded
    body = session.page.evaluate("fetch('/redir-out').then(r => r.text()).catch(e => 'refused')")
    assert body == "refused"
    assert other + "/secret" in session.blocked_resources
    # a link whose page redirects out, directly and after a first allowed hop
    for link in ("Redirecting link", "Two hops"):
        out, view = run(session, f"click [link '{link}']")
        assert out.kind == "blocked" and f"{other}/secret" in out.error and out.blocked == [f"{other}/secret"]
        assert view.url == site + "/"
    assert OTHER_HITS == []
    # a page opened by other code (as an evaluator does) and a popup: every hop checked too
    extra = session.context.new_page()
    with pytest.raises(Exception, match="ERR_BLOCKED_BY_CLIENT"):
        extra.goto(site + "/hop")
    extra.close()
    with session.page.expect_popup() as popup:
        session.page.evaluate(f"window.open('{site}/hop')")
    popup.value.wait_for_load_state()
    assert OTHER_HITS == []
    out, view = run(session, "close_tab")  # the popup's refusal is reported at the next step
    assert out.blocked == [f"{other}/secret"] and view.url == site + "/"
    # redirects inside the environment still work
    out, view = run(session, "click [link 'Local redirect']")
    assert out.error is None and view.url == site + "/done"


def test_a_websocket_to_another_port_is_refused_and_recorded(session, servers):
    site, other = servers
    session.open([site + "/"])
    session.observe()
    ws_other = other.replace("http://", "ws://") + "/socket"
    outcome = session.page.evaluate("""(u) => new Promise(done => {
        const ws = new WebSocket(u);
        ws.onopen = () => done('open'); ws.onclose = (e) => done('closed ' + e.code);
    })""", ws_other)
    assert outcome == "closed 1008"
    assert ws_other in session.blocked_resources and OTHER_HITS == []


def test_navigations_a_page_sets_off_are_reported_at_their_step_with_the_real_target(session, servers):
    site, other = servers
    session.open([site + "/late"])
    session.observe()
    out, view = run(session, "click [link 'Script link']")  # a javascript: URL
    assert out.kind == "blocked" and out.error == f"blocked: {other}/js is outside this environment's sites"
    assert view.url == site + "/late"
    out, view = run(session, "click [button 'Timer']")  # a zero-delay timer
    assert out.kind == "blocked" and out.blocked == [f"{other}/timer"] and view.url == site + "/late"
    # something the page does between two actions is reported at the next one, still by its target
    session.page.evaluate(f"location.href = '{other}/between'")
    session.observe()
    out, view = run(session, "scroll [down]")
    assert out.kind == "blocked" and out.blocked == [f"{other}/between"] and "chrome-error" not in out.error
    assert view.url == site + "/late"
    assert OTHER_HITS == []


def test_a_meta_refresh_outside_is_reported_and_go_back_escapes_it(session, servers):
    site, other = servers
    session.open([site + "/"])
    session.observe()
    out, view = run(session, "click [link 'Instant trap']")  # refresh after 0 s
    assert out.kind == "blocked" and out.blocked == [f"{other}/refresh0"]
    assert view.url == site + "/trap0"  # the refused refresh leaves the page where it is
    out, view = run(session, "scroll [down]")
    assert out.error is None and view.url == site + "/trap0"
    out, view = run(session, "go_back")
    assert out.error is None and view.url == site + "/"
    out, view = run(session, "click [link 'Slow trap']")  # refresh after 30 s: cancelled, reported now
    assert out.kind == "blocked" and out.blocked == [f"{other}/refresh30"]
    assert view.url == site + "/trap-slow"
    out, view = run(session, "go_back")
    assert out.error is None and view.url == site + "/"
    out, view = run(session, "go_forward")  # the slow trap again: its refresh is cancelled again
    assert out.kind == "blocked" and out.blocked == [f"{other}/refresh30"] and view.url == site + "/trap-slow"
    out, view = run(session, "go_back")
    assert out.error is None and view.url == site + "/"
    assert OTHER_HITS == []
