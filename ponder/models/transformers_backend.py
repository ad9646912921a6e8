"""Local Hugging Face models: batched sampling with left padding, bf16 where the hardware
multiplies it natively (CUDA, or a CPU with AMX / AVX512-BF16), CUDA when present.

n samples of one prompt share one prefill: the prompt is run once and its KV cache copied to the
n rows, so an agent sampling 5 candidate actions from a 2,000-token prompt pays for one
prompt, not five.

The bundled SmolLM2 ships as a GGUF file. transformers can read it but dequantises on every
load (~20 s on 2 cores), so the first load converts it once to a safetensors copy under the
user's cache dir; later loads take about a second.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import platformdirs

from ponder.errors import MissingDependency, PonderError, missing_extra
from ponder.models.base import (
    ChatModel,
    Completion,
    ModelInfo,
    TokenLogprob,
    cut_at_stop,
    render_completion_prompt,
    top_logprobs,
)
from ponder.models.batching import CallBatcher, batch_key, runs_alone

log = logging.getLogger(__name__)


def _import():
    try:
        import torch
        import transformers
    except ImportError as e:
        raise missing_extra(e.name or "transformers", "transformers") from e
    transformers.utils.logging.disable_progress_bar()  # no per-load weight bars in CLI output
    return torch, transformers


def cache_dir() -> Path:
    return Path(os.environ.get("PONDER_CACHE") or platformdirs.user_cache_dir("ponder")) / "models"


def converted_copy(gguf: Path) -> Path:
    """The safetensors folder for a GGUF file, converting it (atomically) on first use."""
    torch, transformers = _import()
    stat = gguf.stat()
    target = cache_dir() / f"{gguf.stem}-{stat.st_size}"
    if (target / "config.json").exists():
        return target
    if importlib_missing("gguf"):
        raise MissingDependency("reading GGUF weights with transformers needs the 'gguf' package", hint="pip install gguf")
    log.info("converting %s to safetensors under %s (once)", gguf.name, target)
    tok = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = transformers.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        os.replace(tmp, target) if not target.exists() else shutil.rmtree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def importlib_missing(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is None


def native_bf16(torch, device: str) -> bool:
    """Whether ``device`` multiplies bf16 in hardware (on a CPU without it bf16 is emulated and slow)."""
    if device.startswith("cuda"):
        return True
    cpu = getattr(torch, "cpu", None)
    return any(bool(getattr(cpu, f, lambda: False)()) for f in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))


DTYPES = ("auto", "float32", "bfloat16", "float16")


def choice_first(top: list[tuple[int, float]], chosen: int, chosen_logprob: float) -> list[tuple[int, float]]:
    """The ``k`` most likely tokens at a position, ordered as the decoder chose: ``topk`` and the
    greedy ``argmax`` may break an exact tie (common in bf16) differently, so the chosen token is
    put first among the tokens it ties with (and in the list at all when it ties the last one).
    A sampled token less likely than all ``k`` leaves the list as it is."""
    if not top or chosen_logprob < top[-1][1]:
        return top
    rest = [(t, v) for t, v in top if t != chosen]
    # a stable sort keeps the chosen token ahead of its equals
    return sorted([(chosen, chosen_logprob), *rest], key=lambda p: -p[1])[: len(top)]


def top_alternatives(logp, chosen, k: int) -> list[list[tuple[int, float]]]:
    """Per position (rows of ``logp``, log-probabilities over the vocabulary), the ``k`` most
    likely token ids with their log-probabilities, agreeing with ``chosen`` (the token each
    position decoded) on ties; see :func:`choice_first`."""
    tops = logp.topk(k, dim=-1)
    chosen_lp = logp.gather(-1, chosen.unsqueeze(-1)).squeeze(-1).tolist()
    return [choice_first(list(zip(ids, vals)), c, v)
            for ids, vals, c, v in zip(tops.indices.tolist(), tops.values.tolist(), chosen.tolist(), chosen_lp)]


def sliding_layers(config) -> bool:
    """Whether a model's config has sliding-window attention layers."""
    types = getattr(config, "layer_types", None) or ()
    return any("sliding" in str(t) for t in types) or bool(getattr(config, "sliding_window", None) and not types)


class _RowLimits:
    """A stopping criterion with a limit per row: its own max new tokens and stop strings (so
    calls with different settings can share one batch). Returns which rows are finished."""

    TAIL = 16  # tokens decoded to look for a stop string at the end of a row

    def __init__(self, tokenizer, start: int, limits: list[tuple[int, tuple[str, ...]]]):
        self.tokenizer, self.start, self.limits = tokenizer, start, limits

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        produced = input_ids.shape[1] - self.start
        # one device-to-host copy per step for every row's tail (not one per row)
        tails = input_ids[:, max(self.start, input_ids.shape[1] - self.TAIL):].tolist()
        done = []
        for tail, (most, stop) in zip(tails, self.limits):
            finished = produced >= most
            if not finished and stop:
                text = self.tokenizer.decode(tail, skip_special_tokens=True)
                finished = any(s in text for s in stop)
            done.append(finished)
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class TransformersChatModel(ChatModel):
    """A local causal LM through transformers.

    Args:
        path: an HF model folder or a ``.gguf`` file (converted once to a cached copy).
        name: the registry name.
        device: ``"cuda"``, ``"cpu"`` or ``None`` (CUDA when available).
        chat: ``False`` for base models prompted as completion text.
        parameters: for the FLOPs estimate; measured from the weights when 0.
        threads: torch threads on CPU (default: all cores on an idle machine, one on a busy one).
        dtype: ``"auto"`` (bf16 where the device multiplies it natively: CUDA, or a CPU with AMX or
            AVX512-BF16, where batched sampling of SmolLM2 runs ~1.5x faster; float32 elsewhere),
            or one of ``float32``, ``bfloat16``, ``float16``.
        share_prefill: run each prompt once, alone, for its n samples and copy the KV cache
            (``False``: prefill every sample, left-padded, as plain ``generate`` does).
        batch_window_ms: join calls made concurrently from several threads (a runner's workers,
            a server's requests) into one batched ``generate``: a caller that finds others at
            work waits this long for more to arrive (0: every call runs alone). Seeded sampling
            calls always run alone, so their samples stay reproducible.
        prefix_cache: how many prompts' KV caches are kept (least recently used dropped) so that a
            prompt generated from or scored again is not prefilled again, e.g. ``span`` scores
            candidates against the very prompt its greedy reply came from. As with an API's prompt
            caching, the whole prompt is still counted in ``prompt_tokens`` (as in every recorded
            figure); ``prefix_hits`` counts the reuses, and the seconds show the saving. SmolLM2
            holds ~46 KB per prompt token in float32 (~35 MB for an 800-token prompt); 0 turns
            it off. Used with ``share_prefill`` only.
    """

    def __init__(self, path: str | Path, *, name: str | None = None, device: str | None = None,
                 chat: bool = True, parameters: int = 0, threads: int | None = None, dtype: str = "auto",
                 share_prefill: bool = True, batch_window_ms: float = 5.0, prefix_cache: int = 32):
        torch, transformers = _import()
        if dtype not in DTYPES:
            raise PonderError(f"unknown dtype {dtype!r} for {name or path}", hint=f"one of {', '.join(DTYPES)}")
        path = Path(path)
        folder = converted_copy(path) if path.suffix == ".gguf" else path
        if not (folder / "config.json").exists():
            raise PonderError(f"{folder} is not a Hugging Face model folder (no config.json)")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if dtype == "auto":
            dtype = "bfloat16" if native_bf16(torch, self.device) else "float32"
        dtype = getattr(torch, dtype)
        if not self.device.startswith("cuda"):
            from ponder.models.cpu import default_threads

            # process-wide in torch: by default only ever lowered, never raised behind a caller's back
            torch.set_num_threads(threads or min(default_threads(), torch.get_num_threads()))
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(self.device).eval()
        # the shared prefill lays every layer's cache out whole; a model with sliding-window layers
        # (Gemma 3) keeps only the window there, so it runs each batch's prefill inside generate
        self.share_prefill = share_prefill and not sliding_layers(self.model.config)
        self.prefix_cache = prefix_cache if self.share_prefill else 0
        self._prefixes: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self.prefix_hits = 0
        self.chat = chat and bool(getattr(self.tokenizer, "chat_template", None))
        params = parameters or sum(p.numel() for p in self.model.parameters())
        ctx = int(getattr(self.model.config, "max_position_embeddings", 2048) or 2048)
        self.info = ModelInfo(
            name=name or str(path), backend="transformers", parameters=params, context_length=ctx,
            chat=self.chat, details={"device": self.device, "dtype": str(dtype).replace("torch.", "")},
        )
        self._torch, self._transformers = torch, transformers
        self._batcher = CallBatcher(self._run_group, window_s=batch_window_ms / 1000) if batch_window_ms > 0 else None
        self._lock = threading.Lock()  # one generate at a time: the model and seeds are shared state
        eos = self.model.generation_config.eos_token_id
        self._eos = set(eos if isinstance(eos, list) else [eos]) | {self.tokenizer.eos_token_id}

    @classmethod
    def from_spec(cls, spec, **kwargs) -> TransformersChatModel:
        from ponder.models.spec import resolve_weights

        opts = {**spec.options, **kwargs}
        return cls(resolve_weights(spec.source), name=spec.name, chat=spec.chat, parameters=spec.parameters, **opts)

    def prompt_text(self, messages) -> str:
        if self.chat:
            return self.tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
        return render_completion_prompt(messages)

    def count_tokens(self, messages) -> int:
        return len(self.tokenizer(self.prompt_text(messages), add_special_tokens=False)["input_ids"])

    #: Candidates scored per forward (each row copies the prompt's KV cache).
    SCORE_ROWS = 16

    def count_text(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def continuation_ids(self, messages, continuations: Sequence[str]) -> tuple[list[int], list[list[int]]]:
        """The prompt's token ids and each continuation's as the assistant's whole reply (its
        end-of-turn token included for a chat model), tokenized apart so the prompt's ids are
        exactly those :meth:`generate` feeds. The prompt is rendered and tokenized once."""
        prompt = self.prompt_text(messages)
        enc = self.tokenizer
        tails = []
        for continuation in continuations:
            if self.chat:
                full = enc.apply_chat_template([*messages, {"role": "assistant", "content": continuation}], tokenize=False)
                tail = full[len(prompt):] if full.startswith(prompt) else continuation
                end = tail.rfind(enc.eos_token or "\0")
                tail = tail[: end + len(enc.eos_token)] if end >= 0 else tail  # up to the end of turn
            else:
                tail = " " + continuation.strip()
            tails.append(enc(tail, add_special_tokens=False)["input_ids"])
        return enc(prompt, add_special_tokens=False)["input_ids"], tails

    def _score(self, messages, continuations):
        """One forward over the prompt, then every continuation in one right-padded batch against
        the prompt's KV cache (repeated per row): the prompt is paid for once however many
        candidates are scored."""
        torch = self._torch
        prompt, conts = self.continuation_ids(messages, continuations)
        conts = [c or [self.tokenizer.eos_token_id] for c in conts]
        width = max(len(c) for c in conts)
        if len(prompt) + width > self.info.context_length:
            raise PonderError(f"prompt of {len(prompt)} tokens + a continuation of {width} exceeds "
                              f"{self.info.name}'s context of {self.info.context_length}")
        pad = self.tokenizer.pad_token_id
        scores: list[float] = []
        with self._lock, torch.inference_mode():
            if self.share_prefill and len(prompt) > 1:
                before = self._prefix(prompt[:-1])  # all but the last token, from the prefix cache
                out = self.model(input_ids=torch.tensor([prompt[-1:]], device=self.device), cache=copy.deepcopy(before),
                                 use_cache=True, logits_to_keep=1)
            else:
                out = self.model(input_ids=torch.tensor([prompt], device=self.device), use_cache=True, logits_to_keep=1)
            first = torch.log_softmax(out.logits[0, -1].float(), dim=-1)  # the first continuation token's
            # candidates in chunks: each row holds a copy of the prompt's cache
            for at in range(0, len(conts), self.SCORE_ROWS):
                chunk = conts[at: at + self.SCORE_ROWS]
                rows = len(chunk)
                # a copy keeps each layer's kind (Gemma 3's sliding-window layers hold only the
                # window, not the whole prompt)
                cache = copy.deepcopy(out.cache)
                cache.batch_repeat_interleave(rows)
                ids = torch.tensor([c + [pad] * (width - len(c)) for c in chunk], device=self.device)
                mask = torch.tensor([[1] * (len(prompt) + len(c)) + [0] * (width - len(c)) for c in chunk],
                                    device=self.device)
                logits = self.model(input_ids=ids, attention_mask=mask, cache=cache, use_cache=True).logits
                logp = torch.log_softmax(logits.float(), dim=-1)
                for r, c in enumerate(chunk):
                    total = float(first[c[0]])
                    if len(c) > 1:
                        nxt = torch.tensor(c[1:], device=self.device)
                        total += float(logp[r, : len(c) - 1].gather(-1, nxt.unsqueeze(-1)).sum())
                    scores.append(total)
                del cache, logits, logp
        return scores, len(prompt) + sum(len(c) for c in conts)

    def _generate_batch(self, batch, *, n, temperature, max_tokens, stop, logprobs, seed):
        if self._batcher is None or runs_alone(temperature, seed):
            # a seeded sample must not share its random stream with other callers' rows
            return self._run(batch, [(max_tokens, tuple(stop or ()))] * len(batch), n=n, temperature=temperature,
                             logprobs=logprobs, seed=seed)
        key = batch_key(n=n, temperature=temperature, logprobs=logprobs, seed=seed)
        return self._batcher.submit(key, batch, (max_tokens, tuple(stop or ())))

    def _run_group(self, key, batch, limits):
        n, temperature, logprobs, seed = key
        return self._run(batch, limits, n=n, temperature=temperature, logprobs=logprobs, seed=seed)

    def _run(self, batch, limits: list[tuple[int, tuple[str, ...]]], *, n, temperature, logprobs, seed):
        """Generate ``n`` completions for each conversation of ``batch`` in one ``generate`` call;
        conversation ``i`` stops at its own ``limits[i]`` (max new tokens, stop strings)."""
        torch = self._torch
        ids = [self.tokenizer(self.prompt_text(m), add_special_tokens=False)["input_ids"] for m in batch]
        for seq, (most, _) in zip(ids, limits):
            if len(seq) + most > self.info.context_length:
                raise PonderError(
                    f"prompt of {len(seq)} tokens + max_tokens {most} exceeds {self.info.name}'s context of "
                    f"{self.info.context_length}",
                    hint="shorten the prompt or lower max_tokens",
                )
        width = max(len(seq) for seq in ids)
        pad = self.tokenizer.pad_token_id
        rows_ids = [seq for seq in ids for _ in range(n)]
        row_limits = [lim for lim in limits for _ in range(n)]
        input_ids = torch.tensor([[pad] * (width - len(seq)) + seq for seq in rows_ids], device=self.device)
        mask = torch.tensor([[0] * (width - len(seq)) + [1] * len(seq) for seq in rows_ids], device=self.device)
        sample = temperature > 0
        k = top_logprobs(logprobs)
        kwargs = dict(
            max_new_tokens=max(most for most, _ in limits), do_sample=sample, pad_token_id=pad,
            return_dict_in_generate=True, output_scores=bool(logprobs), output_logits=k > 0,
            stopping_criteria=self._transformers.StoppingCriteriaList([_RowLimits(self.tokenizer, width, row_limits)]),
        )
        if sample:
            kwargs.update(temperature=temperature, top_p=1.0, top_k=0)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        with self._lock, torch.inference_mode():
            if seed is not None:
                torch.manual_seed(seed)
            if self.share_prefill and min(len(seq) for seq in ids) > 1:
                kwargs["cache"] = self._prefill(ids, n)
            out = self.model.generate(input_ids=input_ids, attention_mask=mask, **kwargs)
            scores = logp = None
            if logprobs:
                scores = self.model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
            if k:
                # the model's own distribution (raw logits, before temperature) at each position
                logp = torch.log_softmax(torch.stack(out.logits, dim=1).float(), dim=-1)  # rows x steps x vocab
        generated = out.sequences[:, width:].tolist()
        rows: list[list[Completion]] = []
        for i, new in enumerate(generated):
            limit, stop = row_limits[i]
            end = next((j for j, t in enumerate(new[:limit]) if t in self._eos), None)
            body = new[:limit] if end is None else new[:end]
            text, stopped = cut_at_stop(self.tokenizer.decode(body, skip_special_tokens=True), list(stop))
            lp = None
            if scores is not None:
                alts = [()] * len(body)
                if logp is not None and body:
                    top = top_alternatives(logp[i, : len(body)], out.sequences[i, width: width + len(body)], k)
                    alts = [tuple((self.tokenizer.decode([a]), v) for a, v in pos) for pos in top]
                lp = [TokenLogprob(self.tokenizer.decode([t]), float(s), alt)
                      for t, s, alt in zip(body, scores[i][: len(body)].tolist(), alts)]
            done = end is not None or stopped
            completion = Completion(
                text=text.strip() if self.chat else text,
                finish_reason="stop" if done else "length",
                prompt_tokens=len(rows_ids[i]),
                completion_tokens=len(body) + (1 if end is not None else 0),
                logprobs=lp,
            )
            if i % n == 0:
                rows.append([])
            rows[-1].append(completion)
        return rows

    def _prefix(self, ids: list[int]) -> Any:
        """The KV cache of ``ids`` run alone, from the prefix cache when it holds them (not to be
        modified: callers copy it)."""
        key = tuple(ids)
        if key in self._prefixes:
            self._prefixes.move_to_end(key)
            self.prefix_hits += 1
            return self._prefixes[key]
        out = self.model(input_ids=self._torch.tensor([ids], device=self.device), use_cache=True, logits_to_keep=1)
        if self.prefix_cache > 0:
            self._prefixes[key] = out.cache
            while len(self._prefixes) > self.prefix_cache:
                self._prefixes.popitem(last=False)
        return out.cache

    def _prefill(self, ids: list[list[int]], n: int):
        """The KV cache of each prompt but its last token, each computed alone (no padding, so a
        short prompt batched with a long one costs only its own length; a prompt met before
        comes from the prefix cache), laid out left-padded and repeated for the n samples;
        ``generate`` then feeds only the last tokens."""
        from transformers import DynamicCache

        width = max(len(seq) for seq in ids) - 1
        layers: list[tuple] = []
        for r, seq in enumerate(ids):
            for i, layer in enumerate(self._prefix(seq[:-1]).layers):
                if r == 0:
                    shape = (len(ids), layer.keys.shape[1], width, layer.keys.shape[3])
                    layers.append((layer.keys.new_zeros(shape), layer.values.new_zeros(shape)))
                keys, values = layers[i]
                keys[r, :, width - layer.keys.shape[2]:] = layer.keys[0]
                values[r, :, width - layer.values.shape[2]:] = layer.values[0]
        cache = DynamicCache()
        for i, (keys, values) in enumerate(layers):
            cache.update(keys.repeat_interleave(n, dim=0), values.repeat_interleave(n, dim=0), i)
        return cache

    def close(self) -> None:
        self._prefixes.clear()
        self.model = None
