"""Fetching a document URL (only when ``allow_url_fetch`` is on), never to a non-public address.

Every hop is checked before its request is sent: the host is resolved and each address it
resolves to must be public (not loopback, private, link-local -- which holds the cloud metadata
address 169.254.169.254 --, CGNAT, multicast, reserved or unspecified) unless ``allow`` lists it.
Redirects are followed by hand (at most :data:`MAX_REDIRECTS`) so each target gets the same
check, and the address actually connected to is checked again before the body is read (a DNS
answer that changed between the check and the connection is caught there). The body is read
into a list of pieces and joined once, and reading stops at the size limit.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

from ponder.errors import PonderError

MAX_REDIRECTS = 5

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchRefused(PonderError):
    """A URL the service will not fetch (scheme, address or size)."""


class AllowList:
    """Addresses that may be fetched although they are not public: entries are an address
    (``127.0.0.1``), a network (``10.0.0.0/8``) or an address with a port (``127.0.0.1:8080``,
    ``[::1]:8080``), which allows that port only."""

    def __init__(self, entries: Iterable[str] = ()):
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.ports: set[tuple[Address, int]] = set()
        for raw in entries:
            entry = raw.strip()
            host, port = _split_port(entry)
            try:
                if port is None:
                    self.networks.append(ipaddress.ip_network(entry, strict=False))
                else:
                    self.ports.add((ipaddress.ip_address(host), port))
            except ValueError as e:
                raise PonderError(f"url_fetch_allow: {raw!r} is not an address, network or address:port",
                                  hint="e.g. 10.0.0.0/8, 127.0.0.1 or 127.0.0.1:8080") from e

    def allows(self, ip: Address, port: int) -> bool:
        return (ip, port) in self.ports or any(ip in net for net in self.networks)


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        if port.isdigit():
            return host, int(port)
    return entry, None


def _kind(ip: Address) -> str | None:
    """Why an address is not public, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _kind(ip.ipv4_mapped)
    for attr, what in (("is_loopback", "loopback"), ("is_link_local", "link-local (cloud metadata)"),
                       ("is_private", "private"), ("is_multicast", "multicast"),
                       ("is_unspecified", "unspecified"), ("is_reserved", "reserved")):
        if getattr(ip, attr):
            return what
    return None if ip.is_global else "non-public"


def check_address(ip: Address, port: int, allow: AllowList, url: str) -> None:
    """Raise :class:`FetchRefused` unless ``ip`` is public or allow-listed."""
    why = _kind(ip)
    if why is not None and not allow.allows(ip, port):
        raise FetchRefused(f"refused to fetch {url}: {ip} is a {why} address",
                           hint="only public addresses are fetched; url_fetch_allow lists exceptions")


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise FetchRefused(f"cannot resolve {host!r}: {e}") from e
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def _target(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchRefused(f"only http(s) URLs can be fetched, not {url!r}")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as e:
        raise FetchRefused(f"bad port in {url!r}") from e
    return parts.hostname, port


def _peer(response) -> Address | None:
    stream = response.extensions.get("network_stream")
    addr = stream.get_extra_info("server_addr") if stream is not None else None
    return ipaddress.ip_address(addr[0].split("%")[0]) if addr else None


def fetch_url(url: str, *, max_bytes: int, timeout: float, allow: AllowList | None = None) -> tuple[str, bytes, str]:
    """GET ``url`` (following up to :data:`MAX_REDIRECTS` redirects, each checked); return
    ``(final url, body, content type)``.

    Raises:
        FetchRefused: a scheme, address or size the service does not fetch.
        PonderError: the fetch failed (network error, HTTP error status).
    """
    import httpx

    allow = allow or AllowList()
    current = url
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            host, port = _target(current)
            for ip in resolve(host, port):
                check_address(ip, port, allow, current)
            try:
                with client.stream("GET", current) as r:
                    peer = _peer(r)
                    if peer is not None:
                        check_address(peer, port, allow, current)
                    if r.is_redirect:
                        location = r.headers.get("location")
                        if not location:
                            raise PonderError(f"fetching {current} failed: a redirect without Location")
                        current = urljoin(current, location)
                        continue
                    r.raise_for_status()
                    pieces, size = [], 0
                    for part in r.iter_bytes():
                        size += len(part)
                        if size > max_bytes:
                            raise FetchRefused(f"{current} is over the {max_bytes}-byte document limit")
                        pieces.append(part)
                    return current, b"".join(pieces), r.headers.get("content-type", "")
            except httpx.HTTPError as e:
                raise PonderError(f"fetching {current} failed: {e}") from e
    raise FetchRefused(f"fetching {url}: more than {MAX_REDIRECTS} redirects")


def document_name(url: str, content_type: str) -> str:
    """A file name for a fetched document, with the suffix its parser is chosen by."""
    name = url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or "index"
    if "html" in content_type and not name.lower().endswith((".html", ".htm")):
        name += ".html"
    elif "markdown" in content_type and not name.lower().endswith(".md"):
        name += ".md"
    elif "." not in name:
        name += ".txt"
    return name
