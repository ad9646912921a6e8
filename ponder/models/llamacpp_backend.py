"""In-process GGUF models through llama-cpp-python: the fastest single stream on CPU.

llama.cpp's high-level API does not batch several sequences, so ``n`` samples and several
conversations run one after another; its prefix cache reuses the prompt's KV state between
samples of the same conversation. Logprobs need every position's logits (``logits_all``), which
slows prompt processing, so a second context is opened only when logprobs are first asked for.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ponder.errors import PonderError, missing_extra
from ponder.models.base import (
    ChatModel,
    Completion,
    ModelInfo,
    TokenLogprob,
    ranked,
    render_completion_prompt,
    top_logprobs,
)
from ponder.models.cpu import default_threads


def _import():
    try:
        import llama_cpp
    except ImportError as e:
        raise missing_extra("llama-cpp-python", "llamacpp") from e
    return llama_cpp


class LlamaCppChatModel(ChatModel):
    """A GGUF model run in-process by llama.cpp.

    Args:
        path: the ``.gguf`` file.
        name: the registry name.
        chat: ``False`` for base models (prompted as completion text; BOS added by llama.cpp).
        n_ctx: context window to allocate.
        threads: CPU threads (default: :func:`default_threads`).
        parameters: for the FLOPs estimate; read from the GGUF when 0.
    """

    def __init__(self, path: str | Path, *, name: str | None = None, chat: bool = True, n_ctx: int = 4096,
                 threads: int | None = None, parameters: int = 0, gpu_layers: int = 0):
        llama_cpp = _import()
        self._path = str(path)
        self._kwargs = dict(n_ctx=n_ctx, n_threads=threads or default_threads(), n_gpu_layers=gpu_layers, verbose=False)
        self._llama_cls = llama_cpp.Llama
        self._llm = self._open(logits_all=False)
        self._llm_lp = None
        self.chat = chat
        params = parameters or int(self._llm.n_params()) if hasattr(self._llm, "n_params") else parameters
        self.info = ModelInfo(name=name or self._path, backend="llamacpp", parameters=params or 1,
                              context_length=n_ctx, chat=chat, details={"file": self._path})
        self._lock = threading.Lock()  # a llama.cpp context is not safe to share between threads

    @classmethod
    def from_spec(cls, spec, **kwargs) -> LlamaCppChatModel:
        from ponder.models.spec import resolve_weights

        opts = {**spec.options, **kwargs}
        return cls(resolve_weights(spec.source), name=spec.name, chat=spec.chat, parameters=spec.parameters, **opts)

    def _open(self, *, logits_all: bool):
        try:
            return self._llama_cls(model_path=self._path, logits_all=logits_all, **self._kwargs)
        except ValueError as e:
            raise PonderError(f"llama.cpp could not load {self._path}: {e}") from e

    def count_tokens(self, messages) -> int:
        text = render_completion_prompt(messages) if not self.chat else "".join(m["content"] for m in messages)
        return len(self._llm.tokenize(text.encode(), add_bos=False)) + (4 * len(messages) if self.chat else 0)

    def _one(self, llm, messages, *, temperature, max_tokens, stop, logprobs, seed) -> Completion:
        common = dict(temperature=temperature, max_tokens=max_tokens, stop=stop or None, seed=seed)
        if temperature <= 0:
            common.update(top_k=1)
        k = top_logprobs(logprobs)
        if self.chat:
            extra = dict(logprobs=True, top_logprobs=max(k, 1)) if logprobs else {}
            resp = llm.create_chat_completion(messages=list(messages), **common, **extra)
            choice = resp["choices"][0]
            text = choice["message"]["content"] or ""
            lp = None
            if logprobs and choice.get("logprobs"):
                lp = [TokenLogprob(t["token"], float(t["logprob"]),
                                   ranked((a["token"], a["logprob"]) for a in t.get("top_logprobs") or ())[:k])
                      for t in choice["logprobs"]["content"]]
        else:
            extra = dict(logprobs=max(k, 1)) if logprobs else {}
            resp = llm.create_completion(prompt=render_completion_prompt(messages), **common, **extra)
            choice = resp["choices"][0]
            text = choice["text"]
            lp = None
            if logprobs and choice.get("logprobs"):
                data = choice["logprobs"]
                tops = data.get("top_logprobs") or [None] * len(data["tokens"])
                lp = [TokenLogprob(t, float(v), ranked((top or {}).items())[:k])
                      for t, v, top in zip(data["tokens"], data["token_logprobs"], tops) if v is not None]
        return Completion(
            text=text.strip() if self.chat else text,
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            prompt_tokens=int(resp["usage"]["prompt_tokens"]),
            completion_tokens=int(resp["usage"]["completion_tokens"]),
            logprobs=lp,
        )

    def _generate_batch(self, batch, *, n, temperature, max_tokens, stop, logprobs, seed):
        with self._lock:
            if logprobs and self._llm_lp is None:
                self._llm_lp = self._open(logits_all=True)
            llm = self._llm_lp if logprobs else self._llm
            rows = []
            for b, messages in enumerate(batch):
                if seed is not None:
                    # The prefix cache changes numerics slightly (a reused KV state vs a fresh
                    # batch evaluation), enough to flip sampled tokens: with a seed, start every
                    # conversation from a clean context so samples are reproducible.
                    llm.reset()
                row = []
                for i in range(n):
                    # distinct, reproducible seeds per sample; greedy ignores them
                    s = None if seed is None else seed + 1000 * b + i
                    row.append(self._one(llm, messages, temperature=temperature, max_tokens=max_tokens,
                                         stop=stop, logprobs=logprobs, seed=s if s is not None else -1))
                rows.append(row)
            return rows

    def close(self) -> None:
        for llm in (self._llm, self._llm_lp):
            if llm is not None:
                llm.close()
        self._llm = self._llm_lp = None
