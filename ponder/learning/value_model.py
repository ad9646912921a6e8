"""A trained verifier served as a :class:`~ponder.agents.value.ValueFunction` (``--value learned:DIR``).

The model is a sequence classifier (a cross-encoder on all-MiniLM-L6-v2 by default) with one
logit: ``sigmoid(logit)`` is P(success) of a state given the objective, the actions so far and
the current page. :func:`verifier_inputs` builds its input the same way for training and for
search, from what the judge sees (:class:`~ponder.agents.value.JudgeInput`).

A model folder holds ``model/`` (``save_pretrained`` of the model and its tokenizer) and
``learned.json``: the input format, the training data's split (checked by
:func:`check_heldout` before any evaluation), the training cost and held-out metrics.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ponder.agents.value import JudgeInput, Judgement
from ponder.agents.web_actor import truncate
from ponder.errors import ConfigError
from ponder.usage import Usage, spend

__all__ = ["LearnedValue", "check_heldout", "load_learned", "read_model_card", "verifier_inputs"]

MODEL_CARD = "learned.json"
#: Observation characters the verifier reads: the page excerpt that traces keep (EXCERPT_CHARS),
#: so states from any run's trace can be scored exactly as in search.
OBS_CHARS = 600
HISTORY = 6


def verifier_inputs(intent: str, history: Sequence[str], observation: str, *, obs_chars: int = OBS_CHARS,
                    history_len: int = HISTORY) -> tuple[str, str]:
    """The (first, second) text pair the cross-encoder reads for one state."""
    done = " ; ".join(list(history)[-history_len:]) if history else "none"
    return f"Objective: {intent}\nActions: {done}", truncate(observation or "", obs_chars)


def read_model_card(folder: str | Path) -> dict:
    """``learned.json`` of a trained value folder (a :class:`ConfigError` naming what is wrong)."""
    folder = Path(folder)
    card = folder / MODEL_CARD
    if not folder.is_dir():
        raise ConfigError(f"learned value {folder}: no such folder", hint="train one with `ponder train value --out DIR`")
    if not card.exists() or not (folder / "model").is_dir():
        raise ConfigError(f"learned value {folder}: no {MODEL_CARD} and model/ (not a trained value folder, "
                          "or its training has not finished)", hint="train one with `ponder train value --out DIR`")
    try:
        return json.loads(card.read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"{card}: not valid JSON ({e.msg})") from None


def check_heldout(folder: str | Path, episodes: Sequence[tuple[str, int]]) -> None:
    """Refuse (:class:`ConfigError`) to evaluate a model on an episode (task, seed) its training
    data covered, per the split saved with the model (a model that was trained on a task is
    also refused on that task's training seeds only; other seeds of it are held out)."""
    from ponder.learning.split import Split, check_episodes

    card = read_model_card(folder)
    splits = [Split.from_dict(s) for s in card.get("splits", [])]
    if not splits:
        raise ConfigError(f"{Path(folder) / MODEL_CARD}: records no training split, so held-out evaluation cannot be checked")
    check_episodes(splits, episodes, f"learned model {folder}")


class LearnedValue:
    """A trained verifier as a value function: one batched forward pass per ``score_many``,
    charged to the run's :class:`Usage` as one call per state (tokens, FLOPs = 2 x parameters
    x tokens, seconds)."""

    needs_env = False

    def __init__(self, folder: str | Path, *, threads: int | None = 1, batch_size: int = 32):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.folder = Path(folder)
        self.card = read_model_card(self.folder)
        if threads:
            torch.set_num_threads(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(self.folder / "model")
        self.model = AutoModelForSequenceClassification.from_pretrained(self.folder / "model")
        self.model.eval()
        self.parameters = sum(p.numel() for p in self.model.parameters())
        self.max_length = int(self.card.get("max_length", 256))
        self.obs_chars = int(self.card.get("obs_chars", OBS_CHARS))
        self.batch_size = batch_size
        self._lock = threading.Lock()  # one forward pass at a time (workers share the model)

    @property
    def model_name(self) -> str:
        return f"learned:{self.folder.name}"

    def predict(self, pairs: Sequence[tuple[str, str]], usage: Usage | None = None) -> list[float]:
        """P(success) for each (first, second) text pair."""
        import torch

        out: list[float] = []
        for i in range(0, len(pairs), self.batch_size):
            chunk = list(pairs[i:i + self.batch_size])
            enc = self.tokenizer([a for a, _ in chunk], [b for _, b in chunk], truncation="only_second",
                                 max_length=self.max_length, padding=True, return_tensors="pt")
            tokens = int(enc["attention_mask"].sum())
            with spend(usage, timed="seconds", calls=len(chunk), prompt_tokens=tokens,
                       flops=2.0 * self.parameters * tokens), self._lock, torch.inference_mode():
                logits = self.model(**enc).logits[:, 0].float()
            out += torch.sigmoid(logits).tolist()
        return out

    def score_many(self, items: Sequence[JudgeInput], *, seed: int | None = None, usage: Usage | None = None,
                   env: Any = None) -> list[Judgement]:
        if not items:
            return []
        pairs = [verifier_inputs(it.intent, it.actions, it.observations[-1] if it.observations else "",
                                 obs_chars=self.obs_chars) for it in items]
        return [Judgement(round(p, 4), [], "learned") for p in self.predict(pairs, usage)]

    def score(self, item: JudgeInput, **kw: Any) -> Judgement:
        return self.score_many([item], **kw)[0]


_loaded: dict[str, LearnedValue] = {}
_loaded_lock = threading.Lock()


def load_learned(folder: str | Path) -> LearnedValue:
    """The :class:`LearnedValue` in ``folder``, loaded once per process (workers share it)."""
    key = str(Path(folder).resolve())
    with _loaded_lock:
        if key not in _loaded:
            start = time.perf_counter()
            _loaded[key] = LearnedValue(folder)
            _loaded[key].load_seconds = time.perf_counter() - start  # type: ignore[attr-defined]
        return _loaded[key]


def toml_values() -> dict[str, str]:
    """Value functions named in ``ponder.toml`` (``[values.NAME] path = "DIR"``): name -> ``learned:DIR``."""
    from ponder.models.registry import read_config

    if (found := read_config()) is None:
        return {}
    path, data = found
    out = {}
    for name, entry in (data.get("values") or {}).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise ConfigError(f"{path}: [values.{name}] needs path = \"DIR\" (a trained value folder)")
        folder = Path(entry["path"])
        if not folder.is_absolute():
            folder = path.parent / folder
        out[name] = f"learned:{folder}"
    return out


def resolve_value_name(name: str) -> str:
    """``judge``, ``oracle`` or ``learned:DIR`` for a value name (a ``ponder.toml`` name maps
    to its ``learned:DIR``); a :class:`ConfigError` for anything else."""
    if name in ("judge", "oracle") or name.startswith("learned:"):
        if name == "learned:":
            raise ConfigError("--value learned: needs a folder", hint="--value learned:DIR (from `ponder train value`)")
        return name
    named = toml_values()
    if name in named:
        return named[name]
    raise ConfigError(f"unknown value function {name!r}",
                      hint="judge | oracle | learned:DIR" + (f" | {' | '.join(named)} (ponder.toml)" if named else ""))


def value_function(name: str, *, model: Any, judge_config: Any) -> Any:
    """The :class:`~ponder.agents.value.ValueFunction` a value name stands for (``model``: the
    judge's chat model)."""
    from ponder.agents.value_judge import OracleValue, ValueJudge

    name = resolve_value_name(name)
    if name == "oracle":
        return OracleValue()
    if name.startswith("learned:"):
        return load_learned(name[len("learned:"):])
    return ValueJudge(model, judge_config)


def learned_folder(name: str) -> Path | None:
    """The model folder behind a value name, or ``None`` when it names no learned value."""
    name = resolve_value_name(name)
    return Path(name[len("learned:"):]) if name.startswith("learned:") else None
