"""The browser on a tiny loopback site: origin guard, downloads, tabs, history, destructive
flags, element resolution, snapshot capture/apply. Real Chromium, one per module."""

import http.server
import threading

import pytest

from ponder.tools.actions import parse_action
from ponder.tools.browser import BrowserSession, host_rules

PAGES = {
    "/": """<!doctype html><title>Home</title><h1>Home</h1>
<a href="/a">Page A</a> <a href="http://example.com/">Outside</a> <a href="file:///etc/passwd">Local file</a>
<a href="/dl">Get file</a> <a href="/a" target="_blank">A in new tab</a>
<img src="http://example.com/pixel.png" alt="">""",
    "/a": """<!doctype html><title>A</title><h1>Page A</h1>
<form action="/search" method="get"><input aria-label="Query" name="q"><button>Search</button></form>
<label for="c">Color</label><select id="c"><option>Red</option><option value="g">Green</option></select>
<textarea aria-label="Notes"></textarea><input type="checkbox" aria-label="Gift wrap">
<div style="height:3000px">tall</div><a href="/">Home</a>""",
    "/search": """<!doctype html><title>Results</title><p>results</p>""",
    "/order": """<!doctype html><title>Checkout</title>
<form method="post" action="/post"><input aria-label="Name" name="n"><button type="submit">Place order</button></form>
<form method="post" action="/cart/add"><button type="submit">Add to cart</button></form>
<form method="get" action="/search"><input aria-label="Find" name="q"><button>Find</button></form>""",
    "/marked": """<!doctype html><title>Marked</title>
<form method="post" action="/post" data-destructive><input aria-label="Comment" name="c"><button>Go</button></form>
<form method="post" action="/post"><button data-destructive="false">Delete draft</button></form>
<a href="/a" data-destructive>Remove everything</a>""",
    "/done": """<!doctype html><title>Done</title><p>ok</p>""",
    "/scripted": """<!doctype html><title>Scripted</title><div id="x"></div>
<script>document.getElementById('x').textContent = 'made by script';</script><input aria-label="Field">""",
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/dl":
            body = b"secret"
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Disposition", "attachment; filename=x.bin")
        elif path in PAGES:
            body = PAGES[path].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
        else:
            body = b"not found"
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(303)
        self.send_header("Location", "/done")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def site():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def session(browser, site):
    s = BrowserSession(browser, origins=[site])
    yield s
    s.close()


def run(session, text):
    out = session.execute(parse_action(text))
    view = session.observe()
    return out, view


pytestmark = pytest.mark.slow


def test_host_rules_flag():
    assert host_rules(["127.0.0.1", "localhost"]) == "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"


def test_observation_and_basic_actions(session, site):
    session.open([site + "/a"])
    view = session.observe()
    assert view.url == site + "/a"
    assert view.tabs == ["A"]
    assert "heading 'Page A'" in view.text
    out, view = run(session, "type [textbox 'Query'] [usb cable] [0]")
    assert out.error is None
    assert "textbox 'Query' value='usb cable' focused" in view.text
    out, view = run(session, "select [combobox 'Color'] [green]")  # by label, case-insensitively
    assert out.error is None and "value='Green'" in view.text
    out, view = run(session, "select [combobox 'Color'] [Blue]")
    assert "no option 'Blue'" in out.error and "'Red'" in out.error
    out, view = run(session, "click [checkbox 'Gift wrap']")
    assert "checkbox 'Gift wrap' focused checked" in view.text
    out, _ = run(session, "scroll [down]")
    assert out.error is None and session.page.evaluate("window.scrollY") > 0
    out, view = run(session, "type [textbox 'Query'] [laptop] [1]")  # Enter submits the GET form
    assert out.error is None and view.url == site + "/search?q=laptop"


def test_element_errors_are_reported_not_raised(session, site):
    session.open([site + "/a"])
    session.observe()
    out, _ = run(session, "click [999]")
    assert out.error.startswith("no element with id [999]")
    out, _ = run(session, "click [button 'Nope']")
    assert out.error == "no element button 'Nope' on the page"
    out, _ = run(session, "type [heading 'Page A'] [x] [0]")  # not a field: falls back to typing, no crash
    assert out.kind in (None, "action", "timeout")


def test_origin_guard_blocks_other_hosts_files_and_downloads(session, site):
    session.open([site + "/"])
    session.observe()
    assert any("example.com/pixel.png" in u for u in session.blocked_resources)  # the <img> was refused
    out, view = run(session, "scroll [down]")
    assert out.error is None  # a refused image is not an action error
    out, view = run(session, "click [link 'Outside']")
    assert out.kind == "blocked" and "example.com" in out.error
    assert view.url == site + "/"
    out, view = run(session, "goto [http://example.com/]")
    assert out.kind == "blocked" and "outside this environment" in out.error
    out, view = run(session, "goto [file:///etc/passwd]")
    assert out.kind == "blocked" and view.url == site + "/"
    out, view = run(session, "click [link 'Local file']")
    assert out.kind == "blocked" and "file:///etc/passwd" in out.error and view.url == site + "/"
    out, view = run(session, "click [link 'Get file']")
    assert out.kind == "blocked" and "download blocked" in out.error
    assert view.url == site + "/"
    assert session.allowed(site + "/anything") and not session.allowed("http://127.0.0.1:1/")


def test_tabs_popups_and_history(session, site):
    session.open([site + "/"])
    session.observe()
    out, view = run(session, "click [link 'A in new tab']")
    assert out.error is None
    assert len(view.tabs) == 2 and view.url == site + "/a"  # the popup became the active tab
    out, view = run(session, "tab_focus [0]")
    assert view.url == site + "/"
    out, view = run(session, "tab_focus [5]")
    assert "no tab 5" in out.error
    out, view = run(session, "close_tab")
    assert view.tabs == ["A"]
    out, view = run(session, "new_tab")
    assert len(view.tabs) == 2 and view.url == "about:blank"
    run(session, "close_tab")
    out, view = run(session, "click [link 'Home']")
    assert view.url == site + "/"
    out, view = run(session, "go_back")
    assert out.error is None and view.url == site + "/a"
    out, view = run(session, "go_forward")
    assert view.url == site + "/"
    out, view = run(session, "go_forward")
    assert "no page to go forward" in out.error
    out, view = run(session, f"goto [{site}/done]")
    assert view.url == site + "/done"
    out, view = run(session, "go_back")
    assert view.url == site + "/"


def test_destructive_flags(session, site):
    session.open([site + "/order"])
    session.observe()
    out, _ = run(session, "type [textbox 'Name'] [Alex] [0]")
    assert not out.destructive
    out, view = run(session, "click [button 'Place order']")  # unmarked page: POST + verb
    assert out.destructive and view.url == site + "/done"
    session.open([site + "/order"])
    session.observe()
    assert not run(session, "click [button 'Add to cart']")[0].destructive  # POST, reversible
    session.open([site + "/order"])
    session.observe()
    assert not run(session, "type [textbox 'Find'] [x] [1]")[0].destructive  # GET form
    session.open([site + "/order"])
    session.observe()
    assert run(session, "type [textbox 'Name'] [Alex] [1]")[0].destructive  # Enter submits the order
    session.open([site + "/marked"])
    session.observe()
    assert run(session, "type [textbox 'Comment'] [hi] [1]")[0].destructive  # the form is marked
    session.open([site + "/marked"])
    session.observe()
    assert not run(session, "click [button 'Delete draft']")[0].destructive  # opted out
    session.open([site + "/marked"])
    session.observe()
    assert run(session, "click [link 'Remove everything']")[0].destructive  # a marked link


@pytest.mark.parametrize("path", ["/a", "/scripted"])
def test_capture_and_apply_round_trip(session, site, path):
    session.open([site + path])
    first = session.observe()
    field = "Query" if path == "/a" else "Field"
    run(session, f"type [textbox '{field}'] [hello] [0]")
    session.page.evaluate("window.scrollTo(0, 40)")
    before = session.observe()
    snap = session.capture()
    assert snap["tabs"][0]["state"]["scripted"] is (path == "/scripted")
    run(session, f"type [textbox '{field}'] [changed] [0]")
    run(session, "new_tab")
    session.execute(parse_action(f"goto [{site}/done]"))
    session.apply(snap)
    after = session.observe()
    assert after.text == before.text != first.text
    assert after.url == before.url and after.tabs == before.tabs
    assert session.page.evaluate("window.scrollY") == snap["tabs"][0]["state"]["sy"]
    if path == "/scripted":
        assert "made by script" in after.text
