"""The transformers backend's top-k alternatives agree with the token it decoded, also when two
tokens tie exactly (bf16 logits often do, and ``topk`` and ``argmax`` may break a tie differently)."""

import pytest

from ponder.models.transformers_backend import choice_first, top_alternatives

torch = pytest.importorskip("torch")


def tied_logprobs():
    # one position, tokens 2 and 6 tie exactly for most likely; bf16 as a bf16 model computes them
    logits = torch.tensor([[0.5, 1.0, 3.0, -1.0, 0.0, 2.0, 3.0, 1.5]], dtype=torch.bfloat16)
    return torch.log_softmax(logits.float(), dim=-1)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_the_greedy_choice_is_the_top_alternative_on_an_exact_tie(k):
    logp = tied_logprobs()
    assert logp[0, 2].item() == logp[0, 6].item()  # the tie is exact
    greedy = int(torch.argmax(logp[0]))
    for chosen in (greedy, 6 if greedy == 2 else 2):  # whichever of the tied tokens was decoded
        (top,) = top_alternatives(logp, torch.tensor([chosen]), k)
        assert len(top) == k
        assert top[0] == (chosen, logp[0, chosen].item())
        assert [v for _, v in top] == sorted((v for _, v in top), reverse=True)
        if k >= 2:
            assert {t for t, _ in top[:2]} == {2, 6}
        if k == 3:
            assert top[2][0] == 5


def test_a_sampled_unlikely_token_leaves_the_list_alone():
    top = [(2, -1.0), (6, -1.0), (5, -2.0)]
    assert choice_first(top, 3, -5.0) == top  # decoded token less likely than all three
    assert choice_first(top, 6, -1.0) == [(6, -1.0), (2, -1.0), (5, -2.0)]
    assert choice_first(top, 7, -2.0) == [(2, -1.0), (6, -1.0), (7, -2.0)]  # ties the last: listed first among equals
    assert choice_first([], 1, 0.0) == []
