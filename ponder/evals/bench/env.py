"""``ponder bench env``: how fast the web environment steps, restores and replays, on the shop.

A 5-action prefix (open a category, open a product, set the quantity, add to cart, scroll) is
run from reset; the state after it is snapshotted. Then, per round:

- ``step_ms``: one action to the next observation (the prefix's steps, every round);
- ``restore_ms``: after a mutating action (another add to cart, then leaving the page),
  ``restore()`` back to the snapshot: database, cookies, URL, form values, scroll;
- ``replay_ms``: ``reset()`` plus replaying the prefix to the same state (the fallback where a
  snapshot is impossible).

``restore_speedup`` = replay_ms_p50 / restore_ms_p50 (targets: >= 10, and restore_ms_p50 <= 100).
``restore_exact`` / ``replay_exact`` say whether each reached the snapshot's observation text
(and, for restore, its database content) in every round.
"""

from __future__ import annotations

import re
import statistics
import time


def _p50(xs: list[float]) -> float:
    return round(statistics.median(xs), 2) if xs else float("nan")


def _db_dump(server) -> str:
    conn = server.db()
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def run(*, quick: bool = False, rounds: str | int | None = None, chromium: str | None = None, **_) -> dict:
    """Measure the environment; returns the metrics dict (see the module docstring)."""
    from ponder.environments.server import SiteServer
    from ponder.environments.tasks import Task
    from ponder.environments.webenv import WebEnv

    n = int(rounds) if rounds else (3 if quick else 10)
    task = Task(task_id="bench-env", sites=["shop"], start_url="__SHOP__/", intent="Add a speaker to the cart.",
                require_login=True, eval={"eval_types": ["string_match"], "reference_answers": {"exact_match": "-"}})
    server = SiteServer(sites=("shop",)).start()
    env = WebEnv(server=server, chromium=chromium)
    try:
        obs = env.reset(task)
        obs = env.step("click [link 'Electronics']").observation
        product = _first_product(obs.text)
        prefix = [
            "click [link 'Electronics']",
            f"click [link '{product}']",
            "type [spinbutton 'Quantity'] [2] [0]",
            "click [button 'Add to cart']",
            "scroll [down]",
        ]
        step_ms: list[float] = []
        reset_ms: list[float] = []
        restore_ms: list[float] = []
        replay_ms: list[float] = []
        snapshot_ms: list[float] = []
        errors = 0

        def replay() -> None:
            """Reset and step through the prefix, timing both."""
            nonlocal errors
            t = time.perf_counter()
            env.reset(task)
            reset_ms.append((time.perf_counter() - t) * 1000)
            for a in prefix:
                res = env.step(a)
                errors += res.observation.last_action_error is not None
                step_ms.append(res.info["ms"])

        replay()
        t = time.perf_counter()
        state = env.snapshot()
        snapshot_ms.append((time.perf_counter() - t) * 1000)
        text, db = env.last_observation.text, _db_dump(server)

        restore_exact = replay_exact = True
        for _ in range(n):
            # mutate: the database (another add to cart) and the page (leave it)
            env.step("click [button 'Add to cart']")
            env.step("goto [__SHOP__/orders]")
            t = time.perf_counter()
            back = env.restore(state)
            restore_ms.append((time.perf_counter() - t) * 1000)
            restore_exact &= back.text == text and _db_dump(server) == db

            t = time.perf_counter()
            replay()
            replay_ms.append((time.perf_counter() - t) * 1000)
            replay_exact &= env.last_observation.text == text
            t = time.perf_counter()
            env.snapshot()
            snapshot_ms.append((time.perf_counter() - t) * 1000)

        restore_p50, replay_p50 = _p50(restore_ms), _p50(replay_ms)
        return {
            "step_ms_p50": _p50(step_ms),
            "restore_ms_p50": restore_p50,
            "replay_ms_p50": replay_p50,
            "restore_speedup": round(replay_p50 / restore_p50, 2) if restore_p50 else float("nan"),
            "snapshot_ms_p50": _p50(snapshot_ms),
            "reset_ms_p50": _p50(reset_ms),
            "restore_ms_max": round(max(restore_ms), 2),
            "restore_exact": restore_exact,
            "replay_exact": replay_exact,
            "prefix_actions": len(prefix),
            "action_errors": errors,
            "rounds": n,
            "obs_chars": len(text),
        }
    finally:
        env.close()
        server.stop()


def _first_product(text: str) -> str:
    """The first product link after the result count on a category page."""
    after = text.split("products found", 1)[-1]
    m = re.search(r"link '([^']+)'", after)
    if not m:
        from ponder.errors import EnvError

        raise EnvError("bench env: no product link on the Electronics page", hint="did the shop's layout change?")
    return m.group(1)
