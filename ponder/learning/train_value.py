"""``ponder train value``: fit a verifier (objective, actions, page) -> P(success) on collected states.

A sequence classifier with one logit (default: a cross-encoder on the bundled all-MiniLM-L6-v2)
is trained with transformers' :class:`~transformers.Trainer` on binary cross-entropy against each
state's Monte Carlo value target (soft labels in [0, 1]). Checkpoints go to ``OUT/checkpoints``
every ``save_steps`` steps; a rerun of the same command resumes from the last one. bf16 on CUDA
when present, the CPU otherwise. The result is ``OUT/model`` and ``OUT/learned.json`` (see
:mod:`ponder.learning.value_model`), loadable as ``--value learned:OUT``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError
from ponder.files import write_json_atomic
from ponder.learning.dataset import load_states
from ponder.learning.split import TRAIN_MIN_SEED
from ponder.learning.value_model import MODEL_CARD, OBS_CHARS, verifier_inputs

__all__ = ["auc", "heldout_metrics", "train_value"]


def auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """ROC AUC (``None`` when only one class is present)."""
    from sklearn.metrics import roc_auc_score

    if len(set(labels)) < 2:
        return None
    return float(roc_auc_score(list(labels), list(scores)))


def training_rows(data: Sequence[str | Path]) -> tuple[list[dict], list[dict]]:
    """The rows of every dataset folder in ``data`` and their splits; refuses held-out data."""
    rows: list[dict] = []
    splits: list[dict] = []
    for folder in data:
        got, meta = load_states(folder)
        split = meta["split"]
        if split.get("role") != "train":
            raise ConfigError(f"{Path(folder) / 'metadata.json'}: split role {split.get('role')!r}: only 'train' data "
                              "may be trained on", hint="held-out collections are for evaluation (ponder bench verifier)")
        if split.get("env") == "miniwob":
            low = [r for r in got if int(r["seed"]) < TRAIN_MIN_SEED]
            if low:
                raise ConfigError(f"{folder}: {len(low)} row(s) with MiniWoB++ seeds below {TRAIN_MIN_SEED} "
                                  f"(e.g. {low[0]['task']} seed {low[0]['seed']}): those episodes are held out")
        rows += got
        splits.append(split)
    return rows, splits


def heldout_metrics(model: Any, rows: Sequence[dict]) -> dict:
    """AUC of ``model`` (a :class:`~ponder.learning.value_model.LearnedValue`) on held-out rows:
    ``auc_solved`` (label: the state's own reward > 0) and ``auc_reachable`` (some rollout
    through it succeeded), with the scoring time per state."""
    pairs = [verifier_inputs(r["intent"], r["history"], r["observation"], obs_chars=model.obs_chars) for r in rows]
    start = time.perf_counter()
    scores = model.predict(pairs)
    ms = (time.perf_counter() - start) * 1000 / max(1, len(rows))
    solved = [int(float(r["reward"]) > 0) for r in rows]
    reach = [int(bool(r.get("success_reachable", float(r["reward"]) > 0))) for r in rows]
    return {"n": len(rows), "positives_solved": sum(solved), "auc_solved": auc(solved, scores),
            "positives_reachable": sum(reach), "auc_reachable": auc(reach, scores), "score_ms_per_state": round(ms, 3)}


def train_value(
    data: str | Path | Sequence[str | Path],
    out: str | Path,
    *,
    base: str | Path | None = None,
    epochs: float = 3.0,
    batch_size: int = 16,
    learning_rate: float = 5e-5,
    max_length: int = 256,
    max_steps: int = -1,
    save_steps: int = 50,
    seed: int = 0,
    threads: int | None = 1,
    heldout: Sequence[dict] | None = None,
    callbacks: Sequence[Any] = (),
    show_progress: bool = True,
) -> dict:
    """Train a verifier on the states in ``data`` (collection folders) into ``out``; returns its
    model card (also written to ``out/learned.json``). Rerun to resume a killed run.

    Args:
        base: the model to start from (default: the bundled all-MiniLM-L6-v2).
        epochs, max_steps: how long (``max_steps`` > 0 overrides ``epochs``).
        save_steps: checkpoint every this many optimizer steps (a killed run resumes there).
        threads: torch threads on the CPU (``None``: torch's default).
        heldout: rows (as :func:`~ponder.learning.dataset.load_states` gives) to report AUC on.
        callbacks: extra :class:`~transformers.TrainerCallback` s.
    """
    import torch
    from datasets import Dataset
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )
    from transformers.trainer_utils import get_last_checkpoint

    folders = [data] if isinstance(data, (str, Path)) else list(data)
    rows, splits = training_rows(folders)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if threads:
        torch.set_num_threads(threads)
    if base is None:
        from ponder.retrieval.embedder import default_model_path

        base = default_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)

    pairs = [verifier_inputs(r["intent"], r["history"], r["observation"]) for r in rows]
    targets = [float(r["value_target"]) for r in rows]
    enc = tokenizer([a for a, _ in pairs], [b for _, b in pairs], truncation="only_second", max_length=max_length)
    dataset = Dataset.from_dict({**enc, "labels": targets})
    positives = sum(t > 0 for t in targets)
    # positives are rare: weight them up to balance the two classes (at most 10x)
    pos_weight = min(10.0, max(1.0, (len(targets) - positives) / max(1, positives)))

    class BCETrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, **kw):
            labels = inputs.pop("labels").float()
            outputs = model(**inputs)
            logits = outputs.logits[:, 0].float()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, labels, pos_weight=torch.tensor(pos_weight, device=logits.device))
            return (loss, outputs) if return_outputs else loss

    cuda = torch.cuda.is_available()
    args = TrainingArguments(
        output_dir=str(out / "checkpoints"), num_train_epochs=epochs, max_steps=max_steps,
        per_device_train_batch_size=batch_size, learning_rate=learning_rate, warmup_steps=0.1,  # a fraction of the steps
        weight_decay=0.01, save_strategy="steps", save_steps=save_steps, save_total_limit=2, logging_steps=10,
        seed=seed, bf16=cuda, use_cpu=not cuda, report_to=[], dataloader_num_workers=0,
        disable_tqdm=not show_progress,
    )
    trainer = BCETrainer(model=model, args=args, train_dataset=dataset, data_collator=DataCollatorWithPadding(tokenizer),
                         callbacks=list(callbacks))
    last = get_last_checkpoint(str(out / "checkpoints")) if (out / "checkpoints").is_dir() else None
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=last)
    seconds = time.perf_counter() - start
    state = trainer.state
    stopped_early = state.max_steps > 0 and state.global_step < state.max_steps
    examples_seen = (state.global_step - _step_of(last)) * batch_size
    card: dict = {
        "kind": "cross-encoder", "base": str(base), "max_length": max_length, "obs_chars": OBS_CHARS,
        "target": "value_target", "splits": splits, "data": [str(f) for f in folders],
        "training": {"examples": len(rows), "positives": positives, "pos_weight": round(pos_weight, 3),
                     "epochs": epochs, "max_steps": max_steps, "global_step": state.global_step,
                     "steps_planned": state.max_steps, "batch_size": batch_size, "learning_rate": learning_rate,
                     "wall_seconds": round(seconds, 2), "examples_per_second": round(examples_seen / seconds, 3) if seconds else None,
                     "train_loss": round(float(result.training_loss), 5) if not math.isnan(result.training_loss) else None,
                     "resumed_from": Path(last).name if last else None, "device": "cuda" if cuda else "cpu",
                     "threads": torch.get_num_threads()},
    }
    if stopped_early:  # stopped by a callback (or a signal): no final model; rerun to resume
        card["finished"] = False
        return card
    import shutil

    tmp = out / "model.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    trainer.save_model(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    if (out / "model").exists():
        shutil.rmtree(out / "model")
    tmp.rename(out / "model")
    card["finished"] = True
    write_json_atomic(out / MODEL_CARD, card)
    if heldout:
        from ponder.learning.value_model import LearnedValue

        card["heldout"] = heldout_metrics(LearnedValue(out, threads=threads), heldout)
        write_json_atomic(out / MODEL_CARD, card)
    return card


def _step_of(checkpoint: str | None) -> int:
    if not checkpoint:
        return 0
    try:
        return int(Path(checkpoint).name.rsplit("-", 1)[-1])
    except ValueError:
        return 0
