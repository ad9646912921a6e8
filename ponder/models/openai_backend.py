"""Any OpenAI-compatible server (vLLM, SGLang, llama.cpp's server, hosted APIs) through the
official ``openai`` client.

Retries: the client retries connection errors, 408, 409, 429 and 5xx with exponential backoff
(``max_retries``). Servers that ignore ``n`` (llama.cpp's) get extra requests until ``n`` samples
are in. Several conversations are sent concurrently, so a batching server (vLLM, SGLang) batches
them.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from ponder.errors import BackendUnavailable, ModelTimeout, PonderError, missing_extra
from ponder.models.base import ChatModel, Completion, ModelInfo, TokenLogprob, ranked, top_logprobs


class OpenAIChatModel(ChatModel):
    """A model served over the OpenAI chat-completions API.

    Args:
        model: the served model id.
        base_url: the server's ``/v1`` URL (default ``$OPENAI_BASE_URL``, else OpenAI's).
        api_key: the key (default from ``api_key_env``, ``$OPENAI_API_KEY``, else ``"EMPTY"``,
            which local servers accept).
        timeout: seconds per request (default ``$PONDER_OPENAI_TIMEOUT`` or 60).
        max_retries: retries with backoff on 429/5xx/connection errors (default
            ``$PONDER_OPENAI_RETRIES`` or 3).
        parameters: for the FLOPs estimate (unknown for remote models: 0 books no FLOPs).
        concurrency: parallel requests for a batch.
    """

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 api_key_env: str | None = None, timeout: float | None = None, max_retries: int | None = None,
                 parameters: int = 0, name: str | None = None, concurrency: int = 8):
        try:
            import openai
        except ImportError as e:
            raise missing_extra("openai", "openai") from e
        self._openai = openai
        if timeout is None:
            timeout = float(os.environ.get("PONDER_OPENAI_TIMEOUT", "60"))
        if max_retries is None:
            max_retries = int(os.environ.get("PONDER_OPENAI_RETRIES", "3"))
        key = api_key or (os.environ.get(api_key_env) if api_key_env else None) or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        self.client = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=timeout, max_retries=max_retries)
        self.model = model
        self.timeout = timeout
        self.concurrency = concurrency
        self.info = ModelInfo(name=name or f"openai:{model}@{self.base_url}", backend="openai",
                              parameters=parameters, details={"base_url": self.base_url, "model": model})

    @classmethod
    def from_spec(cls, spec, **kwargs) -> OpenAIChatModel:
        opts = {**spec.options, **kwargs}
        return cls(spec.source, base_url=spec.base_url, api_key_env=spec.api_key_env,
                   parameters=spec.parameters, name=spec.name, **opts)

    def _request(self, messages, *, n, temperature, max_tokens, stop, logprobs, seed):
        openai = self._openai
        try:
            return self.client.chat.completions.create(
                model=self.model, messages=list(messages), n=n, temperature=temperature,
                max_tokens=max_tokens, stop=stop or None, seed=seed,
                # llama.cpp's server returns token logprobs only when top_logprobs is set too
                **({"logprobs": True, "top_logprobs": max(top_logprobs(logprobs), 1)} if logprobs else {}),
            )
        except openai.APITimeoutError as e:
            raise ModelTimeout(
                f"{self.base_url} did not answer within {self.timeout:g} s",
                hint="the server may be overloaded; raise timeout= or check it is healthy",
            ) from e
        except openai.APIConnectionError as e:
            raise BackendUnavailable(
                f"cannot reach the model server at {self.base_url}",
                hint="start the server or fix base_url (openai:<model>@<base_url>)",
            ) from e
        except openai.AuthenticationError as e:
            raise BackendUnavailable(f"{self.base_url} refused the API key", hint="set OPENAI_API_KEY or api_key_env") from e
        except openai.NotFoundError as e:
            raise BackendUnavailable(f"{self.base_url} does not serve model {self.model!r}", hint="check the model id") from e
        except openai.APIStatusError as e:
            raise BackendUnavailable(f"{self.base_url} answered {e.status_code}: {e.message}") from e

    def _conversation(self, messages, *, n, temperature, max_tokens, stop, logprobs, seed) -> list[Completion]:
        out: list[Completion] = []
        k = top_logprobs(logprobs)
        attempt = 0
        while len(out) < n:
            s = None if seed is None else seed + attempt
            resp = self._request(messages, n=n - len(out), temperature=temperature, max_tokens=max_tokens,
                                 stop=stop, logprobs=logprobs, seed=s)
            attempt += 1
            if not resp.choices:
                raise PonderError(f"{self.base_url} returned no choices")
            usage = resp.usage
            per_prompt = usage.prompt_tokens if usage else 0
            for i, choice in enumerate(resp.choices):
                lp = None
                if logprobs and choice.logprobs and choice.logprobs.content:
                    lp = [TokenLogprob(t.token, float(t.logprob), ranked((a.token, a.logprob) for a in t.top_logprobs or ())[:k])
                          for t in choice.logprobs.content]
                completion_tokens = (usage.completion_tokens // len(resp.choices)) if usage else 0
                out.append(Completion(
                    text=(choice.message.content or "").strip(),
                    finish_reason="length" if choice.finish_reason == "length" else "stop",
                    prompt_tokens=per_prompt if i == 0 else 0,  # the prompt is processed once per request
                    completion_tokens=completion_tokens,
                    logprobs=lp,
                ))
        return out[:n]

    def _generate_batch(self, batch, *, n, temperature, max_tokens, stop, logprobs, seed):
        kwargs = dict(n=n, temperature=temperature, max_tokens=max_tokens, stop=stop, logprobs=logprobs, seed=seed)
        if len(batch) == 1:
            return [self._conversation(batch[0], **kwargs)]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(batch))) as pool:
            return list(pool.map(lambda m: self._conversation(m, **kwargs), batch))

    def close(self) -> None:
        self.client.close()
