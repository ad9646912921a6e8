"""API keys, stored hashed and scoped to collections.

A key looks like ``pk_<id>_<secret>``: the id (public, 8 hex digits) finds the record, the
secret (32 random bytes, url-safe base64) is checked against ``sha256(secret)`` with a
constant-time comparison. A secret of 256 random bits needs no slow hash: nobody can guess it,
and a fast check costs the same whether the id exists or not, so failures reveal nothing about
which ids exist (an unknown id is compared against a dummy hash).

Keys files written before SHA-256 hold ``scrypt`` records (no ``scheme`` field). They keep
working: such a key is checked with scrypt once and, when it is right, its record is rewritten
as SHA-256 (so the slow check, and its timing difference, lasts until a key's first use).
``ponder serve keys list`` marks records still waiting for that.

Only the hash is written to the keys file; the key itself is shown once, when created. Failed
keys are remembered for :data:`FAIL_TTL` seconds so a client repeating one costs a dict lookup.

Each key is allowed a set of collection names, or ``*`` for all. The file is re-read when it
changes, so ``ponder serve keys create`` takes effect on a running server. A file that becomes
damaged while the server runs makes key checks raise :class:`KeysUnavailable` (the service
answers 503) until it is repaired; the last good keys are not used, since the damage may hide a
revocation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ponder.errors import ConfigError
from ponder.files import write_atomic

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
#: seconds a failed key is remembered (answered without looking it up again)
FAIL_TTL = 10.0
_FAIL_MAX = 10_000  # remembered failures at most (the memory an attacker can make us hold)
_DUMMY = hashlib.sha256(b"ponder: no such key").hexdigest()


class KeysUnavailable(ConfigError):
    """The keys file cannot be read (damaged): no key can be checked."""


@dataclass
class KeyRecord:
    """One API key as stored (no secret)."""

    id: str
    name: str
    salt: str
    hash: str
    collections: list[str] = field(default_factory=list)
    created: float = 0.0
    revoked: bool = False
    #: "sha256" (sha256 of the secret, no salt) or "scrypt" (files written before SHA-256)
    scheme: str = "scrypt"

    def allows(self, collection: str) -> bool:
        return not self.revoked and ("*" in self.collections or collection in self.collections)

    @property
    def all_collections(self) -> bool:
        return "*" in self.collections

    def public(self) -> dict:
        return {"id": self.id, "name": self.name, "collections": self.collections,
                "created": self.created, "revoked": self.revoked, "scheme": self.scheme}


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _scrypt(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT).hex()


def _split(key: str | None) -> tuple[str, str] | None:
    if not key or not key.startswith("pk_") or key.count("_") < 2:
        return None
    _, key_id, secret = key.split("_", 2)
    return key_id, secret


class KeyStore:
    """The keys file (JSON) with verification and a short memory of failures."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._records: dict[str, KeyRecord] = {}
        self._mtime: float | None = None
        self._failed: dict[str, float] = {}  # sha256(key) -> until (monotonic)
        self._reload(force=True)

    # ---- file ------------------------------------------------------------------------------
    def _reload(self, force: bool = False) -> None:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = None
        if not force and mtime == self._mtime:
            return
        records: dict[str, KeyRecord] = {}
        if mtime is not None:
            try:
                data = json.loads(self.path.read_text() or "{}")
                for raw in data.get("keys", []):
                    rec = KeyRecord(**raw)
                    records[rec.id] = rec
            except (OSError, ValueError, TypeError, AttributeError) as e:
                self._records, self._mtime = {}, None  # check nothing against a file we cannot read
                raise KeysUnavailable(f"keys file {self.path} is damaged: {e}",
                                      hint="restore it from a backup, or delete it and create keys again "
                                           "with `ponder serve keys create`") from e
        self._records, self._mtime = records, mtime
        self._failed.clear()  # a key created since may be one that failed before

    def _save(self) -> None:
        data = {"version": 2, "keys": [asdict(r) for r in self._records.values()]}
        write_atomic(self.path, json.dumps(data, indent=2), mode=0o600)
        self._mtime = self.path.stat().st_mtime_ns

    # ---- management ------------------------------------------------------------------------
    def create(self, name: str, collections: list[str]) -> tuple[str, KeyRecord]:
        """Create a key allowed ``collections`` (``["*"]`` for all); return ``(key, record)``.
        The key is not stored and cannot be shown again."""
        if not collections:
            raise ConfigError("a key needs at least one collection (or '*')")
        with self._lock:
            self._reload()
            key_id = secrets.token_hex(4)
            while key_id in self._records:
                key_id = secrets.token_hex(4)
            secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
            rec = KeyRecord(id=key_id, name=name, salt="", hash=_sha256(secret), scheme="sha256",
                            collections=sorted(set(collections)), created=time.time())
            self._records[key_id] = rec
            self._save()
        return f"pk_{key_id}_{secret}", rec

    def revoke(self, key_id: str) -> KeyRecord:
        with self._lock:
            self._reload()
            if key_id not in self._records:
                raise ConfigError(f"no key with id {key_id!r} in {self.path}")
            self._records[key_id].revoked = True
            self._save()
            return self._records[key_id]

    def list(self) -> list[KeyRecord]:
        with self._lock:
            self._reload()
            return list(self._records.values())

    # ---- checking --------------------------------------------------------------------------
    def slow(self, key: str | None) -> bool:
        """Whether :meth:`verify` would run scrypt for ``key`` (a not yet upgraded record): the
        caller should then verify off the event loop."""
        parts = _split(key)
        if parts is None:
            return False
        with self._lock:
            self._reload()
            rec = self._records.get(parts[0])
            return bool(rec and rec.scheme == "scrypt" and not rec.revoked)

    def verify(self, key: str | None) -> KeyRecord | None:
        """The record for a valid, unrevoked key, else ``None``.

        The work done for a wrong secret is the same whether the id exists or not (one SHA-256
        and one constant-time comparison), except for records still in the old scrypt scheme.

        Raises:
            KeysUnavailable: the keys file is damaged.
        """
        parts = _split(key)
        if parts is None:
            return None
        key_id, secret = parts
        digest = _sha256(key)
        now = time.monotonic()
        with self._lock:
            self._reload()
            until = self._failed.get(digest)
            if until is not None and until > now:
                return None
            rec = self._records.get(key_id)
        if rec is not None and rec.scheme == "scrypt":
            ok = hmac.compare_digest(_scrypt(secret, bytes.fromhex(rec.salt)), rec.hash)
            if ok:
                self._upgrade(rec, secret)
        else:
            ok = hmac.compare_digest(_sha256(secret), rec.hash if rec is not None else _DUMMY) and rec is not None
        if ok and not rec.revoked:
            return rec
        with self._lock:
            if len(self._failed) >= _FAIL_MAX:
                self._failed = {k: t for k, t in self._failed.items() if t > now}
                if len(self._failed) >= _FAIL_MAX:
                    self._failed.clear()
            self._failed[digest] = now + FAIL_TTL
        return None

    def _upgrade(self, rec: KeyRecord, secret: str) -> None:
        """Rewrite a verified scrypt record as SHA-256 (its key stays the same)."""
        with self._lock:
            self._reload()  # keep keys another process added since
            current = self._records.get(rec.id)
            if current is None or current.scheme != "scrypt":
                return
            current.salt, current.hash, current.scheme = "", _sha256(secret), "sha256"
            self._save()
