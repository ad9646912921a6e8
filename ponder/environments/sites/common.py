"""What the sites share: the per-instance database handle and its lock, the Jinja2
templates, sessions and logins, forms, redirects and pagination.

Every request runs its database work under the instance's lock, so a snapshot taken from another
thread never sees half a request. Handlers are plain functions ``fn(request, form) -> Response``
wrapped by :meth:`SiteContext.endpoint`; the form is parsed before the lock is taken.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

TEMPLATES = Path(__file__).with_name("templates")
PAGE_SIZE = 20

_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
_env.globals["money"] = lambda cents: f"${cents / 100:,.2f}"


def hash_password(password: str) -> str:
    """A salted SHA-256 (these are toy sites on loopback; the salt keeps equal passwords apart)."""
    return hashlib.sha256(("ponder-sites:" + password).encode()).hexdigest()


def cookie_name(site: str) -> str:
    """The session cookie of ``site`` (each site has its own, scoped to its path)."""
    return f"ponder_{site}_session"


@dataclass
class SiteContext:
    """One site's view of a :class:`~ponder.environments.server.SiteServer` instance."""

    site: str
    conn: sqlite3.Connection
    lock: threading.RLock
    prefix: str  # URL path prefix, e.g. "/shop"
    extra: dict[str, Any] = field(default_factory=dict)

    # ---- requests -------------------------------------------------------------------------
    def endpoint(self, fn: Callable[[Request, dict[str, str]], Response]) -> Callable:
        """Wrap a sync handler: parse the form, then run it under the lock and commit."""

        async def run(request: Request) -> Response:
            form: dict[str, str] = {}
            if request.method == "POST":
                data = await request.form()
                form = {k: str(v) for k, v in data.items()}
            with self.lock:
                try:
                    response = fn(request, form)
                    self.conn.commit()
                except BaseException:
                    self.conn.rollback()
                    raise
            return response

        run.__name__ = fn.__name__
        return run

    def url(self, path: str = "/", **query: Any) -> str:
        """An absolute path inside this site, with the non-empty query parameters."""
        q = {k: v for k, v in query.items() if v not in (None, "")}
        return self.prefix + path + (("?" + urlencode(q)) if q else "")

    def render(self, request: Request, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("user", self.current_user(request))
        values.setdefault("flash", request.query_params.get("msg", ""))
        values.setdefault("site", self.site)
        name = template[1:] if template.startswith("/") else f"{self.site}/{template}"
        html = _env.get_template(name).render(p=self.prefix, url=self.url, request=request, **values)
        return HTMLResponse(html, status_code=status)

    def not_found(self, request: Request, what: str) -> HTMLResponse:
        return self.render(request, "/not_found.html", status=404, what=what)

    def redirect(self, path: str, **query: Any) -> RedirectResponse:
        """POST-redirect-GET: a 303 to a path inside the site."""
        return RedirectResponse(self.url(path, **query), status_code=303)

    # ---- sessions -------------------------------------------------------------------------
    def current_user(self, request: Request) -> sqlite3.Row | None:
        token = request.cookies.get(cookie_name(self.site))
        if not token:
            return None
        return self.conn.execute(
            "SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token = ? AND s.site = ?",
            (token, self.site),
        ).fetchone()

    def create_session(self, user_id: int) -> str:
        token = secrets.token_urlsafe(18)
        self.conn.execute("INSERT INTO sessions(token, site, user_id) VALUES (?, ?, ?)", (token, self.site, user_id))
        return token

    def check_login(self, username: str, password: str) -> sqlite3.Row | None:
        row = self.conn.execute(
            "SELECT * FROM users WHERE site = ? AND username = ?", (self.site, username.strip())
        ).fetchone()
        if row is None or row["password"] != hash_password(password):
            return None
        return row

    def login_routes(self) -> list:
        """GET/POST ``/login`` and POST ``/logout`` for this site."""
        from starlette.routing import Route

        def login_page(request: Request, form: dict[str, str]) -> Response:
            if request.method == "POST":
                user = self.check_login(form.get("username", ""), form.get("password", ""))
                nxt = form.get("next") or "/"
                if not nxt.startswith("/") or nxt.startswith("//"):
                    nxt = "/"
                if user is None:
                    return self.render(
                        request, "/login.html", status=401, error="Wrong username or password.", next=nxt,
                        username=form.get("username", ""),
                    )
                token = self.create_session(user["id"])
                response = RedirectResponse(self.prefix + nxt, status_code=303)
                response.set_cookie(cookie_name(self.site), token, path=self.prefix or "/", httponly=True, samesite="lax")
                return response
            return self.render(request, "/login.html", next=request.query_params.get("next", "/"), error="", username="")

        def logout(request: Request, form: dict[str, str]) -> Response:
            token = request.cookies.get(cookie_name(self.site))
            if token:
                self.conn.execute("DELETE FROM sessions WHERE token = ?", (token,))
            response = self.redirect("/")
            response.delete_cookie(cookie_name(self.site), path=self.prefix or "/")
            return response

        return [
            Route("/login", self.endpoint(login_page), methods=["GET", "POST"]),
            Route("/logout", self.endpoint(logout), methods=["POST"]),
        ]

    def require_user(self, request: Request) -> tuple[sqlite3.Row | None, Response | None]:
        """The logged-in user, or a redirect to the login page that comes back here."""
        user = self.current_user(request)
        if user is not None:
            return user, None
        here = request.url.path[len(self.prefix):] or "/"
        if request.method == "GET" and request.url.query:
            here += "?" + request.url.query
        if request.method == "POST":  # come back to the page the form was on
            referer = request.headers.get("referer", "")
            here = referer.split(self.prefix, 1)[1] if self.prefix + "/" in referer else "/"
        return None, RedirectResponse(self.url("/login", next=here), status_code=303)


@dataclass
class Pager:
    """Page ``page`` (1-based) of ``total`` items, ``size`` per page."""

    page: int
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def int_param(value: str | None, default: int, *, lo: int = 1, hi: int = 10**9) -> int:
    """A lenient integer query/form parameter clamped to ``[lo, hi]``."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return max(lo, min(hi, number))


def price_param(value: str | None) -> int | None:
    """A price in dollars ("12", "12.50", "$12") as cents, or None."""
    if value is None or not str(value).strip():
        return None
    try:
        return int(round(float(str(value).strip().lstrip("$")) * 100))
    except ValueError:
        return None


def pager_for(request: Request, total: int, size: int = PAGE_SIZE) -> Pager:
    pager = Pager(page=1, total=total, size=size)
    pager.page = int_param(request.query_params.get("page"), 1, hi=pager.pages)
    return pager


def page_links(ctx: SiteContext, request: Request, path: str, pager: Pager) -> dict[str, str | None]:
    """URLs of the previous and next page, keeping the other query parameters."""
    query = dict(request.query_params)

    def link(n: int) -> str:
        q = dict(query)
        q["page"] = str(n)
        return ctx.url(path, **q)

    return {
        "prev": link(pager.page - 1) if pager.page > 1 else None,
        "next": link(pager.page + 1) if pager.page < pager.pages else None,
    }
