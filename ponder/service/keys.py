"""API keys, stored hashed and scoped to collections.

A key looks like ``pk_<id>_<secret>``: the id (public, 8 hex digits) finds the record, the
secret (32 random bytes, url-safe base64) is checked against ``scrypt(secret, salt)``. Only the
salt and hash are written to the keys file; the key itself is shown once, when created.
Verified keys are remembered in memory (by a SHA-256 of the key) so scrypt runs once per key
per process, not once per request.

Each key is allowed a set of collection names, or ``*`` for all (which also lets it list
everything). The file is re-read when it changes, so ``ponder serve keys create`` takes effect
on a running server.
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

    def allows(self, collection: str) -> bool:
        return not self.revoked and ("*" in self.collections or collection in self.collections)

    @property
    def all_collections(self) -> bool:
        return "*" in self.collections

    def public(self) -> dict:
        return {"id": self.id, "name": self.name, "collections": self.collections,
                "created": self.created, "revoked": self.revoked}


def _hash(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT).hex()


class KeyStore:
    """The keys file (JSON) with verification and a per-process cache."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._records: dict[str, KeyRecord] = {}
        self._mtime: float | None = None
        self._verified: dict[str, str] = {}  # sha256(key) -> key id
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
            except (json.JSONDecodeError, TypeError) as e:
                raise ConfigError(f"keys file {self.path} is damaged: {e}",
                                  hint="restore it from a backup or delete it and create new keys") from e
        self._records, self._mtime = records, mtime
        self._verified.clear()  # a revoked or changed key must be checked again

    def _save(self) -> None:
        data = {"version": 1, "keys": [asdict(r) for r in self._records.values()]}
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
            salt = secrets.token_bytes(16)
            rec = KeyRecord(id=key_id, name=name, salt=salt.hex(), hash=_hash(secret, salt),
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
            self._verified.clear()
            return self._records[key_id]

    def list(self) -> list[KeyRecord]:
        with self._lock:
            self._reload()
            return list(self._records.values())

    # ---- checking --------------------------------------------------------------------------
    def cached(self, key: str) -> KeyRecord | None | bool:
        """The record of a key verified before (cheap), ``None`` if it is not valid now, or
        ``False`` when it must go through :meth:`verify` (scrypt)."""
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            self._reload()
            key_id = self._verified.get(digest)
            if key_id is None:
                return False
            rec = self._records.get(key_id)
            return rec if rec and not rec.revoked else None

    def verify(self, key: str | None) -> KeyRecord | None:
        """The record for a valid, unrevoked key, else ``None``."""
        if not key or not key.startswith("pk_") or key.count("_") < 2:
            return None
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            self._reload()
            key_id = self._verified.get(digest)
            if key_id is not None:
                rec = self._records.get(key_id)
                return rec if rec and not rec.revoked else None
            _, key_id, secret = key.split("_", 2)
            rec = self._records.get(key_id)
        if rec is None or rec.revoked:
            return None
        if not hmac.compare_digest(_hash(secret, bytes.fromhex(rec.salt)), rec.hash):
            return None
        with self._lock:
            self._verified[digest] = key_id
        return rec
