"""What the transformers backend adds to the contract: one shared prefill for n samples, and a dtype
chosen by what the hardware multiplies natively."""

import pytest

from ponder.errors import PonderError
from ponder.models.registry import load_model

pytestmark = pytest.mark.slow

PROMPTS = [
    [{"role": "user", "content": "Name three colours."}],
    [{"role": "system", "content": "You are terse."},
     {"role": "user", "content": "Write one sentence about the sea, the wind and a small boat at dawn."}],
]


def test_shared_prefill_samples_what_a_prefill_per_sample_samples():
    shared = load_model("smollm2-135m", dtype="float32")
    plain = load_model("smollm2-135m", dtype="float32", share_prefill=False)
    # greedy: every row must match; left padding (prompts of different lengths) must not shift positions
    a = shared.generate_batch(PROMPTS, n=3, temperature=0.0, max_tokens=16)
    b = plain.generate_batch(PROMPTS, n=3, temperature=0.0, max_tokens=16)
    assert [[c.text for c in row] for row in a] == [[c.text for c in row] for row in b]
    assert all(len({c.text for c in row}) == 1 and row[0].text for row in a)
    assert [c.prompt_tokens for c in a[0]] == [c.prompt_tokens for c in b[0]]
    # sampling: the n rows still differ from one another
    sampled = shared.generate(PROMPTS[1], n=4, temperature=1.0, max_tokens=12, seed=3)
    assert len({c.text for c in sampled}) > 1


def test_auto_dtype_follows_the_hardware():
    import torch

    from ponder.models.transformers_backend import native_bf16

    model = load_model("smollm2-135m")
    expected = torch.bfloat16 if native_bf16(torch, model.device) else torch.float32
    assert next(model.model.parameters()).dtype == expected
    assert model.info.details["dtype"] == str(expected).replace("torch.", "")


def test_unknown_dtype_is_named():
    with pytest.raises(PonderError, match="unknown dtype 'fp8'"):
        load_model("smollm2-135m", dtype="fp8")


def test_score_ranks_a_copied_continuation_above_an_unrelated_one_and_matches_a_full_forward():
    import torch

    from ponder.usage import Usage

    model = load_model("smollm2-135m", dtype="float32")
    messages = [{"role": "system", "content": "Answer from the document. Document: The Eiffel Tower was designed "
                                              "by the engineering firm of Gustave Eiffel and stands in Paris."},
                {"role": "user", "content": "Who designed the Eiffel Tower?"}]
    conts = ["Gustave Eiffel", "a purple octopus named Kevin"]
    usage = Usage()
    scores = model.score(messages, conts, usage=usage)
    assert scores[0] > scores[1]
    # the cached-prefix batch gives what one full forward per continuation gives
    prompt, tails = model.continuation_ids(messages, conts)
    ids = tails[1]
    with torch.inference_mode():
        logp = torch.log_softmax(model.model(input_ids=torch.tensor([prompt + ids])).logits[0].float(), -1)
    full = sum(float(logp[len(prompt) - 1 + j, t]) for j, t in enumerate(ids))
    assert scores[1] == pytest.approx(full, abs=1e-3)
    assert model.tokenizer.decode(ids).endswith(model.tokenizer.eos_token)  # the end of turn is scored too
    # charged once for the prompt, plus every continuation token
    expected = len(prompt) + sum(len(t) for t in tails)
    assert usage.calls == 1 and usage.prompt_tokens == expected and usage.completion_tokens == 0


def test_score_with_a_prompt_longer_than_gemma3s_sliding_window_matches_a_full_forward():
    """Gemma 3 keeps only a 512-token window in most layers' cache: the scored rows must copy
    that cache as it is, not as if every layer held the whole prompt."""
    import torch

    from ponder.usage import Usage

    model = load_model("gemma3-270m", dtype="float32")
    filler = " ".join(f"Sentence {i} is about the mills of the town of Exampleton." for i in range(60))
    messages = [{"role": "user", "content": f"{filler} The Eiffel Tower was designed by Gustave Eiffel. "
                                            "Who designed the Eiffel Tower?"}]
    conts = ["Gustave Eiffel", "a purple octopus named Kevin"]
    scores = model.score(messages, conts, usage=Usage())
    prompt, tails = model.continuation_ids(messages, conts)
    assert len(prompt) > 512 + 100
    assert scores[0] > scores[1]
    for score, ids in zip(scores, tails):
        with torch.inference_mode():
            logp = torch.log_softmax(model.model(input_ids=torch.tensor([prompt + ids])).logits[0].float(), -1)
        assert score == pytest.approx(sum(float(logp[len(prompt) - 1 + j, t]) for j, t in enumerate(ids)), abs=1e-3)


def test_scoring_the_prompt_a_reply_came_from_reuses_its_cache():
    from ponder.usage import Usage

    messages = [{"role": "system", "content": "Answer from the document. Document: The Millau Viaduct was designed "
                                              "by the engineer Michel Virlogeux and the architect Norman Foster."},
                {"role": "user", "content": "Who designed the Millau Viaduct?"}]
    conts = ["Michel Virlogeux", "Norman Foster", "a purple octopus named Kevin"]
    cached = load_model("smollm2-135m", dtype="float32")  # (the registry may hand back a loaded model)
    plain = load_model("smollm2-135m", dtype="float32", prefix_cache=0)
    hits = cached.prefix_hits
    cached.generate(messages, max_tokens=4, temperature=0.0)
    assert cached.prefix_hits == hits and tuple(cached.continuation_ids(messages, [])[0][:-1]) in cached._prefixes
    usage, fresh = Usage(), Usage()
    scores = cached.score(messages, conts, usage=usage)
    assert cached.prefix_hits == hits + 1  # the reply's prompt, not prefilled again
    assert scores == pytest.approx(plain.score(messages, conts, usage=fresh), abs=1e-3)
    # counted as an API counts a cached prompt: whole
    assert usage.prompt_tokens == fresh.prompt_tokens and usage.flops == fresh.flops
    cached.score(messages, ["Michel"])  # a second score call on the same prompt reuses it too
    assert cached.prefix_hits == hits + 2 and len(cached._prefixes) <= cached.prefix_cache
    assert plain.prefix_hits == 0 and not plain._prefixes
    # the least recently used prompt goes first
    small = load_model("smollm2-135m", dtype="float32", prefix_cache=1)
    other = [{"role": "user", "content": "Name a bridge."}]
    small.score(messages, conts)
    small.score(other, ["the Golden Gate Bridge"])
    assert list(small._prefixes) == [tuple(small.continuation_ids(other, [])[0][:-1])]
