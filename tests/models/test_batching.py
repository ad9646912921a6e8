"""CallBatcher: concurrent calls from several threads run as shared batches, each caller gets its
own rows back, keys never mix, failures reach every caller of the batch."""

import threading
import time

import pytest

from ponder.models.batching import CallBatcher, batch_key, runs_alone


def recording_run(log, delay=0.05):
    def run(key, conversations, limits):
        log.append((key, list(conversations), list(limits)))
        time.sleep(delay)  # long enough for the other threads to queue up behind this batch
        if "boom" in conversations:
            raise RuntimeError("model failed")
        return [[f"{key}:{c}:{m}"] for c, m in zip(conversations, limits)]

    return run


def call_from_threads(batcher, calls):
    results, errors = {}, {}
    start = threading.Barrier(len(calls))

    def worker(i, key, conv, limit):
        start.wait()
        try:
            results[i] = batcher.submit(key, [conv], limit)
        except Exception as e:
            errors[i] = e

    threads = [threading.Thread(target=worker, args=(i, *c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results, errors


def test_concurrent_calls_share_batches_and_get_their_own_rows():
    log = []
    batcher = CallBatcher(recording_run(log), window_s=0.02)
    calls = [("greedy", f"q{i}", 8 + i) for i in range(8)]
    results, errors = call_from_threads(batcher, calls)
    assert not errors
    assert results == {i: [[f"greedy:q{i}:{8 + i}"]] for i in range(8)}
    assert batcher.rows == 8 and batcher.batches < 8  # at least two callers shared a batch
    assert max(len(convs) for _, convs, _ in log) > 1


def test_keys_never_mix_and_max_rows_is_respected():
    log = []
    batcher = CallBatcher(recording_run(log), window_s=0.02, max_rows=3)
    calls = [("a" if i % 2 else "b", f"q{i}", 4) for i in range(10)]
    results, errors = call_from_threads(batcher, calls)
    assert not errors and len(results) == 10
    for key, convs, _ in log:
        assert len(convs) <= 3
        assert all((int(c[1:]) % 2 == 1) == (key == "a") for c in convs)


def test_a_failure_reaches_every_caller_of_that_batch_and_no_other():
    log = []
    batcher = CallBatcher(recording_run(log, delay=0.1), window_s=0.05)
    calls = [("k", "boom", 4), ("k", "fine", 4), ("other", "separate", 4)]
    results, errors = call_from_threads(batcher, calls)
    failed_batch = next(convs for _, convs, _ in log if "boom" in convs)
    for i, (_, conv, _) in enumerate(calls):
        if conv in failed_batch:
            assert isinstance(errors[i], RuntimeError)
        else:
            assert results[i] == [[f"{calls[i][0]}:{conv}:4"]]
    assert "separate" not in failed_batch


def test_a_lone_caller_does_not_wait_for_company():
    batcher = CallBatcher(recording_run([], delay=0), window_s=5.0)
    start = time.monotonic()
    for i in range(3):
        assert batcher.submit("k", [f"q{i}"], 4) == [[f"k:q{i}:4"]]
    assert time.monotonic() - start < 1.0
    assert batcher.batches == 3


def test_seeded_sampling_runs_alone_and_greedy_seeds_do_not_split_batches():
    assert runs_alone(0.7, 3) and not runs_alone(0.7, None) and not runs_alone(0.0, 3)
    assert batch_key(n=1, temperature=0.0, logprobs=False, seed=1) == batch_key(n=1, temperature=0.0, logprobs=False, seed=2)
    assert batch_key(n=1, temperature=0.7, logprobs=False, seed=1) != batch_key(n=1, temperature=0.7, logprobs=False, seed=2)
    log = []
    batcher = CallBatcher(recording_run(log), window_s=0.02)
    results = []
    start = threading.Barrier(6)

    def worker(i):
        start.wait()
        results.append(batcher.submit("k", [f"q{i}"], 4, alone=True, expected=6))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 6 and batcher.sizes == [1] * 6  # same key, yet never joined


def test_expected_company_is_waited_for_without_relying_on_the_window():
    log = []
    batcher = CallBatcher(recording_run(log, delay=0), window_s=30.0)
    calls = [("k", f"q{i}", 4) for i in range(3)]
    results = {}

    def worker(i, key, conv, limit):
        time.sleep(0.05 * i)  # staggered arrivals: the first must wait for the other two
        results[i] = batcher.submit(key, [conv], limit, expected=3)

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i, *c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert batcher.sizes == [3] and results == {i: [[f"k:q{i}:4"]] for i in range(3)}
    assert time.monotonic() - start < 10  # released by the third arrival, not the 30 s window
    assert batcher.submit("k", ["alone"], 4, expected=1) == [["k:alone:4"]]  # expects no one: runs at once


def test_a_queued_request_times_out_and_leaves_the_queue():
    release = threading.Event()

    def run(key, conversations, limits):
        if "slow" in conversations:
            release.wait(10)
        return [[c] for c in conversations]

    batcher = CallBatcher(run, window_s=0)
    slow = threading.Thread(target=lambda: batcher.submit("a", ["slow"], None))
    slow.start()
    while batcher.batches == 0 and not batcher._busy:
        time.sleep(0.01)
    with pytest.raises(TimeoutError):
        batcher.submit("b", ["late"], None, timeout=0.1)  # the model is busy with "slow"
    release.set()
    slow.join(10)
    assert batcher.sizes == [1]  # the withdrawn request never ran
    assert batcher.submit("b", ["next"], None, timeout=5) == [["next"]]


@pytest.mark.slow
def test_transformers_batches_concurrent_greedy_calls_with_the_same_answers():
    from ponder.models.registry import load_model

    model = load_model("smollm2-135m", dtype="float32")
    questions = [[{"role": "user", "content": q}] for q in
                 ("Name a fruit.", "What is the capital of France? Answer in one word.",
                  "Count from one to five.", "Say hello in French and then in Spanish, please.")]
    # different max_tokens and stop strings per caller: they still share batches
    stops = [None, ["."], ["\n"], [","]]
    alone = [model.generate(q, max_tokens=12 + 4 * i, stop=stops[i])[0].text for i, q in enumerate(questions)]
    before = model._batcher.batches
    results = {}

    def ask(i):
        results[i] = model.generate(questions[i], max_tokens=12 + 4 * i, stop=stops[i])[0]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [results[i].text for i in range(4)] == alone
    assert all(results[i].completion_tokens <= 12 + 4 * i for i in range(4))
    assert model._batcher.batches - before < 4  # some of the four calls ran together
