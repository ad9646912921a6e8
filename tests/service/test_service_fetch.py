"""URL fetch refuses non-public addresses on every hop unless allow-listed (loopback servers only:
the allow-list proves both sides)."""

from __future__ import annotations

import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ponder.service.fetch import AllowList, FetchRefused, check_address, fetch_url


class _Site:
    """A loopback HTTP server that records its hits; ``/go?to=URL`` redirects, ``/big`` is large."""

    def __init__(self):
        self.hits: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the stdlib's name
                site.hits.append(self.path)
                if self.path.startswith("/go?to="):
                    self.send_response(302)
                    self.send_header("Location", self.path[len("/go?to="):])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b"x" * 300_000 if self.path == "/big" else b"<p>The secret code is SITE-1.</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def sites():
    a, b = _Site(), _Site()
    yield a, b
    a.close()
    b.close()


def test_loopback_is_refused_unless_allow_listed(sites):
    a, _ = sites
    with pytest.raises(FetchRefused, match="loopback"):
        fetch_url(a.url + "/doc", max_bytes=10_000, timeout=5)
    assert a.hits == []  # refused before any request was sent
    final, body, ctype = fetch_url(a.url + "/doc", max_bytes=10_000, timeout=5, allow=AllowList([f"127.0.0.1:{a.port}"]))
    assert b"SITE-1" in body and "html" in ctype and final == a.url + "/doc"
    assert fetch_url(a.url + "/doc", max_bytes=10_000, timeout=5, allow=AllowList(["127.0.0.0/8"]))[1] == body


def test_every_redirect_hop_is_checked_before_its_request(sites):
    a, b = sites
    only_a = AllowList([f"127.0.0.1:{a.port}"])
    with pytest.raises(FetchRefused, match="loopback"):
        fetch_url(f"{a.url}/go?to={b.url}/secret", max_bytes=10_000, timeout=5, allow=only_a)
    assert a.hits == [f"/go?to={b.url}/secret"] and b.hits == []  # the other server was never reached
    both = AllowList([f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"])
    final, body, _ = fetch_url(f"{a.url}/go?to={b.url}/doc", max_bytes=10_000, timeout=5, allow=both)
    assert final == b.url + "/doc" and b"SITE-1" in body and b.hits == ["/doc"]


def test_size_limit_and_schemes(sites):
    a, _ = sites
    allow = AllowList([f"127.0.0.1:{a.port}"])
    with pytest.raises(FetchRefused, match="100000-byte"):
        fetch_url(a.url + "/big", max_bytes=100_000, timeout=5, allow=allow)
    assert len(fetch_url(a.url + "/big", max_bytes=400_000, timeout=5, allow=allow)[1]) == 300_000
    for url in ("file:///etc/passwd", "ftp://example.com/x", "gopher://127.0.0.1/"):
        with pytest.raises(FetchRefused, match="only http"):
            fetch_url(url, max_bytes=10, timeout=5)


@pytest.mark.parametrize("address", ["169.254.169.254", "10.1.2.3", "192.168.0.1", "172.16.0.1", "100.64.0.1",
                                     "0.0.0.0", "::1", "fe80::1", "fd00:ec2::254", "::ffff:127.0.0.1"])
def test_non_public_addresses_are_refused(address):
    with pytest.raises(FetchRefused):
        check_address(ipaddress.ip_address(address), 80, AllowList(), "http://x/")
    check_address(ipaddress.ip_address(address), 80, AllowList([address]), "http://x/")  # allow-listed: passes
    check_address(ipaddress.ip_address("93.184.215.14"), 80, AllowList(), "http://x/")  # public: passes


def test_a_bad_allow_list_entry_is_a_config_error(tmp_path):
    from ponder.errors import ConfigError
    from ponder.service.config import load_config

    with pytest.raises(ConfigError, match="url_fetch_allow"):
        load_config(data_dir=str(tmp_path), url_fetch_allow=["not an address"])
