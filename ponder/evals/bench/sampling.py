"""Sampling throughput of the bundled SmolLM2: 8 samples of 64 new tokens for one prompt, as
8 sequential calls vs one batched call (transformers), and llama.cpp's single stream; and, for an
agent's long prompt (n candidates of a few tokens each), the shared prefill against one prefill
per sample."""

from __future__ import annotations

import time

PROMPT = [{"role": "user", "content": "Write a long story about a lighthouse keeper and a storm."}]
LONG_PROMPT = [{"role": "user", "content": "Observation:\n" + "\n".join(
    f"[{i}] link 'Product {i}: a sturdy item, price ${i}.99, rated {i % 5} stars'" for i in range(60))
    + "\nWhich link shows the cheapest product? Reply with click [ID]."}]


def _rate(model, *, n: int, calls: int, max_tokens: int, seed: int) -> float:
    tokens = 0
    start = time.perf_counter()
    for i in range(calls):
        for c in model.generate(PROMPT, n=n, temperature=0.8, max_tokens=max_tokens, seed=seed + i):
            tokens += c.completion_tokens
    return tokens / (time.perf_counter() - start)


def _seconds(model, messages, *, n: int, max_tokens: int) -> float:
    start = time.perf_counter()
    model.generate(messages, n=n, temperature=0.8, max_tokens=max_tokens, seed=0)
    return time.perf_counter() - start


def _concurrent(model, questions, *, max_tokens: int) -> tuple[float, float]:
    """Seconds for the questions asked one after another, then from one thread each at once."""
    import threading

    start = time.perf_counter()
    for q in questions:
        model.generate(q, max_tokens=max_tokens)
    alone = time.perf_counter() - start
    threads = [threading.Thread(target=model.generate, args=(q,), kwargs={"max_tokens": max_tokens}) for q in questions]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return alone, time.perf_counter() - start


def run(*, quick: bool = False, device: str | None = None, samples: str = "8", max_tokens: str = "64",
        model: str = "smollm2-135m", llamacpp_model: str = "llamacpp:smollm2-135m") -> dict:
    from ponder.models.registry import load_model
    from ponder.models.registry import resolve as resolve_spec

    n, new = int(samples), int(max_tokens)
    if quick:
        n, new = 2, 8
    opts = {"device": device} if device else {}
    hf = load_model(model, **opts)
    hf.generate(PROMPT, max_tokens=4)  # warm-up: first call pays one-off costs
    sequential = _rate(hf, n=1, calls=n, max_tokens=new, seed=0)
    batched = _rate(hf, n=n, calls=1, max_tokens=new, seed=100)
    metrics = {
        "model": model,
        "device": hf.info.details.get("device", "cpu"),
        "samples": n,
        "max_tokens": new,
        "sequential_tok_s": round(sequential, 2),
        "batched_tok_s": round(batched, 2),
        "batched_speedup": round(batched / sequential, 2),
        "dtype": hf.info.details.get("dtype"),
    }
    # an agent's call: a long prompt, n short candidates
    unshared = load_model(model, share_prefill=False, **opts)
    k = 2 if quick else 4
    _seconds(unshared, LONG_PROMPT, n=1, max_tokens=2)
    metrics["long_prompt_tokens"] = hf.count_tokens(LONG_PROMPT)
    metrics["shared_prefill_s"] = round(min(_seconds(hf, LONG_PROMPT, n=k, max_tokens=8) for _ in range(2)), 3)
    metrics["prefill_per_sample_s"] = round(min(_seconds(unshared, LONG_PROMPT, n=k, max_tokens=8) for _ in range(2)), 3)
    metrics["shared_prefill_speedup"] = round(metrics["prefill_per_sample_s"] / metrics["shared_prefill_s"], 2)
    # eight callers in eight threads (an eval's workers): their greedy calls join into batches
    questions = [[{"role": "user", "content": f"Question {i}: name a city in country number {i} and say why."}]
                 for i in range(2 if quick else 8)]
    alone, together = _concurrent(hf, questions, max_tokens=8 if quick else 32)
    metrics.update(concurrent_callers=len(questions), calls_alone_s=round(alone, 3), calls_concurrent_s=round(together, 3),
                   concurrent_speedup=round(alone / together, 2))
    try:
        resolve_spec(llamacpp_model)
        lc = load_model(llamacpp_model)
        lc.generate(PROMPT, max_tokens=4)
        metrics["llamacpp_tok_s"] = round(_rate(lc, n=1, calls=n, max_tokens=new, seed=200), 2)
    except ImportError as e:  # pragma: no cover - reported, not hidden
        metrics["llamacpp_error"] = str(e)
    except Exception as e:  # MissingDependency when llama-cpp-python is not installed
        metrics["llamacpp_error"] = str(e)
    return metrics
