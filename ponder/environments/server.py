"""``SiteServer``: the local sites (shop, forum, wiki, and the shop's admin) behind a real uvicorn server on loopback,
each instance with its own SQLite database file, and fast reset / snapshot / restore of that
database for tree search.

One port serves every site under its own path prefix (``/shop``, ``/forum``, ``/wiki``, ``/admin``); each
site's session cookie is scoped to its prefix, so logging into the shop does not log you into the
forum. The seeded initial database is built once per seed and process and kept in memory as a
serialized image; :meth:`SiteServer.reset` and :meth:`SiteServer.restore` copy an image into the
instance's file with SQLite's backup API under the lock every request holds, so a snapshot never
sees half a request.

Example::

    with SiteServer(seed=0) as server:
        print(server.base_urls["shop"])      # http://127.0.0.1:PORT/shop
        token = server.snapshot()
        ...                                  # act through a browser or httpx
        server.restore(token)                # exactly the snapshot's state
"""

from __future__ import annotations

import socket
import sqlite3
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponder.environments.sites import DATA_VERSION, SITE_NAMES, build_database, site_module
from ponder.errors import ConfigError, EnvError

_TEMPLATES: dict[tuple[int, int], bytes] = {}
_TEMPLATES_LOCK = threading.Lock()


def template_image(seed: int = 0) -> bytes:
    """The serialized seeded database for ``seed`` (built on first use, then cached)."""
    key = (seed, DATA_VERSION)
    with _TEMPLATES_LOCK:
        if key not in _TEMPLATES:
            conn = sqlite3.connect(":memory:")
            build_database(conn, seed)
            _TEMPLATES[key] = conn.serialize()
            conn.close()
        return _TEMPLATES[key]


@dataclass(frozen=True)
class ServerState:
    """A snapshot of an instance's database: an immutable serialized SQLite image."""

    image: bytes
    seed: int

    @property
    def size(self) -> int:
        return len(self.image)


def _copy_image(image: bytes, target: sqlite3.Connection) -> None:
    source = sqlite3.connect(":memory:")
    try:
        source.deserialize(image)
        source.backup(target)
    finally:
        source.close()


class SiteServer:
    """The sites served on ``127.0.0.1`` from one instance-owned SQLite file.

    Args:
        data_dir: where the instance's database file goes (a fresh temporary folder when None;
            each instance gets its own uniquely named file either way).
        sites: which sites to serve (any of ``shop``, ``forum``, ``wiki``, ``admin``).
        seed: the data seed; the same seed always gives the same products, posts and articles.
        host: the interface to bind (loopback by default; the sites have toy logins).
        port: the port (0 picks a free one).
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        sites: tuple[str, ...] | list[str] = SITE_NAMES,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.sites = tuple(sites)
        if not self.sites:
            raise ConfigError("SiteServer needs at least one site", hint=f"any of: {', '.join(SITE_NAMES)}")
        for name in self.sites:
            site_module(name)  # raises ConfigError for an unknown name
        self.seed = int(seed)
        self.host, self.port = host, int(port)
        self._tmp = tempfile.TemporaryDirectory(prefix="ponder-sites-") if data_dir is None else None
        self.data_dir = Path(self._tmp.name if self._tmp else data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.data_dir / f"sites-seed{self.seed}-{uuid.uuid4().hex[:8]}.sqlite"
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(self.db_path, check_same_thread=False, timeout=10)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=MEMORY")  # a disposable database: speed over durability
        self.conn.execute("PRAGMA synchronous=OFF")
        self.base_urls: dict[str, str] = {}
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.reset()
        self.app = self._build_app()

    # ---- the web application ------------------------------------------------------------------
    def _build_app(self):
        from starlette.applications import Starlette
        from starlette.responses import HTMLResponse, Response
        from starlette.routing import Mount, Route

        from ponder.environments.sites.common import SiteContext

        mounts = []
        for name in self.sites:
            ctx = SiteContext(site=name, conn=self.conn, lock=self.lock, prefix=f"/{name}")
            mounts.append(Mount(f"/{name}", routes=site_module(name).routes(ctx)))

        async def index(request):
            links = "".join(f'<li><a href="/{s}/">{s.capitalize()}</a></li>' for s in self.sites)
            return HTMLResponse(f"<!doctype html><title>ponder sites</title><h1>ponder sites</h1><ul>{links}</ul>")

        async def no_icon(request):
            return Response(status_code=204)

        return Starlette(routes=[Route("/", index), Route("/favicon.ico", no_icon), *mounts])

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self) -> SiteServer:
        """Start uvicorn in a background thread and fill :attr:`base_urls`; returns ``self``."""
        if self._thread is not None:
            return self
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as e:
            sock.close()
            raise EnvError(f"cannot bind {self.host}:{self.port}: {e}", hint="pick another --port or 0 for a free one") from e
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"sites:{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise EnvError(f"the site server on port {self.port} did not start")
            time.sleep(0.01)
        self.base_urls = {name: f"http://{self.host}:{self.port}/{name}" for name in self.sites}
        return self

    def stop(self) -> None:
        """Stop the server, close the database and remove a temporary data folder."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server, self._thread = None, None
        with self.lock:
            self.conn.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The server's root URL (an index of the sites)."""
        return f"http://{self.host}:{self.port}"

    # ---- state --------------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the seeded initial state (logins and carts included)."""
        image = template_image(self.seed)
        with self.lock:
            _copy_image(image, self.conn)

    def snapshot(self) -> ServerState:
        """The database as it is now, consistent with in-flight requests."""
        with self.lock:
            self.conn.commit()
            return ServerState(self.conn.serialize(), self.seed)

    def restore(self, state: ServerState) -> None:
        """Return the database exactly to ``state`` (from :meth:`snapshot` of an instance with the
        same seed)."""
        if not isinstance(state, ServerState):
            raise EnvError(f"restore() needs a ServerState from snapshot(), got {type(state).__name__}")
        with self.lock:
            _copy_image(state.image, self.conn)

    def db(self) -> sqlite3.Connection:
        """A new read-only connection to the instance's database (rows as :class:`sqlite3.Row`);
        close it when done."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        return conn

    def login_cookies(self, site: str, user: str | None = None) -> list[dict]:
        """Playwright-format cookies of a fresh logged-in session on ``site`` for ``user`` (the
        site's default user when None), for tasks with ``require_login``."""
        if site not in self.sites:
            raise ConfigError(f"site {site!r} is not served by this instance", hint=f"served: {', '.join(self.sites)}")
        from ponder.environments.sites.common import cookie_name

        username = user or site_module(site).DEFAULT_USER
        with self.lock:
            row = self.conn.execute("SELECT id FROM users WHERE site = ? AND username = ?", (site, username)).fetchone()
            if row is None:
                raise ConfigError(f"no user {username!r} on the {site} site")
            token = uuid.uuid4().hex
            self.conn.execute("INSERT INTO sessions(token, site, user_id) VALUES (?, ?, ?)", (token, site, row["id"]))
            self.conn.commit()
        return [{
            "name": cookie_name(site), "value": token, "domain": self.host, "path": f"/{site}",
            "expires": -1, "httpOnly": True, "secure": False, "sameSite": "Lax",
        }]
