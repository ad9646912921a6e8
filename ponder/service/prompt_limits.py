"""One set of limits on what a client may give a model, applied by every route that reaches one
(``/v1/ask`` and both kinds of ``/v1/chat/completions``), so no route lets more text through.

- ``limits.max_question_chars``: the question, and for a conversation sent to a model directly,
  all its messages together (they all become the prompt).
- ``limits.max_messages``: messages per conversation.
- ``limits.max_top_k`` and ``limits.max_tokens`` cap passages and completion tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

from ponder.service.config import Limits
from ponder.service.errors import ApiError


def check_question(question: str, limits: Limits, *, param: str = "question") -> None:
    """Raise 422 when a question is over ``limits.max_question_chars``."""
    if len(question) > limits.max_question_chars:
        raise ApiError(422, "invalid_body", f"{param}: longer than {limits.max_question_chars} characters "
                                            f"({len(question)})", param=param,
                       hint="limits.max_question_chars applies to every route that reaches a model")


def check_conversation(texts: Sequence[str], limits: Limits) -> None:
    """Raise 422 when a conversation has too many messages or too many characters in all."""
    if len(texts) > limits.max_messages:
        raise ApiError(422, "invalid_body", f"messages: at most {limits.max_messages}", param="messages")
    total = sum(len(t) for t in texts)
    if total > limits.max_question_chars:
        raise ApiError(422, "invalid_body", f"messages: {total} characters in all, over the "
                                            f"{limits.max_question_chars}-character limit", param="messages",
                       hint="limits.max_question_chars applies to every route that reaches a model")


def check_top_k(top_k: int, limits: Limits, *, param: str = "top_k") -> None:
    """Raise 422 when more passages are asked for than ``limits.max_top_k``."""
    if top_k > limits.max_top_k:
        raise ApiError(422, "invalid_body", f"{param}: at most {limits.max_top_k}", param=param)
