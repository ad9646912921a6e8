"""The per-model queue: concurrent calls share batches, usage is charged per caller."""

from __future__ import annotations

import threading

import pytest

from ponder.errors import BudgetExceeded
from ponder.models.scripted import ScriptedChatModel
from ponder.service.metrics import Metrics
from ponder.service.queue import ModelQueue, QueuedChatModel
from ponder.usage import Budget, Usage


def test_concurrent_calls_are_batched_and_charged_separately():
    model = ScriptedChatModel([(r"echo (\w+)", lambda m: m[-1]["content"].split()[-1])], latency=0.3)
    batches = []
    running = threading.Event()
    original = model.generate_batch

    def spy(batch, **kw):
        batches.append(len(batch))
        running.set()
        return original(batch, **kw)

    model.generate_batch = spy
    metrics = Metrics()
    q = ModelQueue("scripted", model, max_batch=16, metrics=metrics)
    proxy = QueuedChatModel(q)
    results, ledgers = {}, {}

    def call(i):
        ledgers[i] = Usage()
        results[i] = proxy.generate([{"role": "user", "content": f"echo w{i}"}], usage=ledgers[i])[0].text

    first = threading.Thread(target=call, args=(0,))
    first.start()
    assert running.wait(10)  # the first call is being generated: the next ones must queue
    threads = [threading.Thread(target=call, args=(i,)) for i in range(1, 8)]
    for t in threads:
        t.start()
    for t in [first, *threads]:
        t.join()
    assert results == {i: f"w{i}" for i in range(8)}
    assert batches[0] == 1 and sum(batches) == 8 and len(batches) < 8  # the 7 waiting calls shared batches
    assert all(u.calls == 1 and u.completion_tokens == 1 for u in ledgers.values())
    assert q.depth == 0
    assert 'ponder_queue_depth{model="scripted"} 0' in metrics.render()
    q.close()


def test_budget_is_checked_before_queueing_and_errors_reach_the_caller():
    model = ScriptedChatModel(default=None)
    q = ModelQueue("m", model)
    proxy = QueuedChatModel(q)
    with pytest.raises(BudgetExceeded):
        proxy.generate([{"role": "user", "content": "hi"}], usage=Usage(Budget(calls=0)))
    assert model.calls == []
    with pytest.raises(LookupError):  # the scripted model has no reply: the caller sees why
        proxy.generate([{"role": "user", "content": "hi"}])
    q.close()
