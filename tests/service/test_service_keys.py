"""API keys: a failed check costs the same work whether the key id exists or not, failures are
remembered briefly, old scrypt key files keep working (and are upgraded), and a damaged file
stops every check instead of serving stale keys."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

import pytest

from ponder.service import keys as keys_mod
from ponder.service.keys import KeyStore, KeysUnavailable


class _Count:
    """Counts calls to a wrapped function."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *a, **kw):
        self.calls += 1
        return self.fn(*a, **kw)


def _wrong(key: str) -> str:
    return key[:-1] + ("A" if key[-1] != "A" else "B")


def test_wrong_secret_and_unknown_id_cost_the_same_work(tmp_path, monkeypatch):
    store = KeyStore(tmp_path / "keys.json")
    key, rec = store.create("team", ["*"])
    assert rec.scheme == "sha256" and rec.salt == ""
    scrypt = _Count(hashlib.scrypt)
    compare = _Count(hmac.compare_digest)
    monkeypatch.setattr(keys_mod.hashlib, "scrypt", scrypt)
    monkeypatch.setattr(keys_mod.hmac, "compare_digest", compare)
    unknown = f"pk_{'0' * 8}_{key.split('_', 2)[2]}"  # a well-formed key whose id does not exist
    assert store.verify(unknown) is None
    per_unknown = compare.calls
    assert store.verify(_wrong(key)) is None
    # one constant-time comparison either way (an unknown id is compared with a dummy), no scrypt
    assert per_unknown == 1 and compare.calls - per_unknown == 1 and scrypt.calls == 0
    assert store.verify(key).id == rec.id and scrypt.calls == 0


def test_failures_are_remembered_briefly(tmp_path, monkeypatch):
    store = KeyStore(tmp_path / "keys.json")
    key, _ = store.create("team", ["*"])
    compare = _Count(hmac.compare_digest)
    monkeypatch.setattr(keys_mod.hmac, "compare_digest", compare)
    bad = _wrong(key)
    assert store.verify(bad) is None and compare.calls == 1
    assert store.verify(bad) is None and compare.calls == 1  # answered from the failure memory
    monkeypatch.setattr(keys_mod, "FAIL_TTL", 0.0)
    store._failed.clear()
    assert store.verify(bad) is None and store.verify(bad) is None and compare.calls == 3  # expired at once


def test_scrypt_keys_files_keep_working_and_are_upgraded(tmp_path):
    secret = "s" * 43
    salt = secrets.token_bytes(16)
    old = {"id": "0badc0de", "name": "old", "salt": salt.hex(),
           "hash": hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32).hex(),
           "collections": ["*"], "created": 1.0, "revoked": False}  # a version-1 record: no scheme
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"version": 1, "keys": [old]}))
    store = KeyStore(path)
    key = f"pk_0badc0de_{secret}"
    assert store.slow(key) and store.verify(_wrong(key)) is None
    assert store.verify(key).name == "old"
    saved = json.loads(path.read_text())["keys"][0]
    assert saved["scheme"] == "sha256" and saved["hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert not KeyStore(path).slow(key) and KeyStore(path).verify(key).id == "0badc0de"


def test_a_damaged_keys_file_stops_every_check(tmp_path):
    path = tmp_path / "keys.json"
    store = KeyStore(path)
    key, _ = store.create("team", ["*"])
    good = path.read_text()
    path.write_text(good[: len(good) // 2])
    with pytest.raises(KeysUnavailable, match="damaged"):
        store.verify(key)
    path.write_text(good)
    assert store.verify(key) is not None


def test_rate_limiter_buckets_are_per_name_and_bounded(monkeypatch):
    from ponder.service import ratelimit
    from ponder.service.ratelimit import RateLimiter

    clock = [100.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: clock[0])
    limiter = RateLimiter(per_minute=60, burst=2)
    assert [limiter.take("a") for _ in range(2)] == [0.0, 0.0] and limiter.take("a") == 1.0
    assert limiter.wait("a") == 1.0 and limiter.wait("b") == 0.0 and limiter.take("b") == 0.0
    clock[0] += 1.0  # "b" is full again, "a" has one token of two
    monkeypatch.setattr(RateLimiter, "MAX_BUCKETS", 2)
    assert limiter.take("c") == 0.0
    assert set(limiter._buckets) == {"a", "c"}  # the full bucket was dropped, the used one kept
