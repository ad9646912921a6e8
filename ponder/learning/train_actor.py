"""``ponder train actor``: filtered behaviour cloning of the web actor on successful trajectories.

From collected states (including paths found by search with the oracle: expert iteration),
every state on a path that ends in a solved state becomes one example: the actor's own prompt
(:meth:`~ponder.agents.web_actor.WebActor.messages`, same few-shot examples and truncation)
and, as the target, the action the path took from there. A LoRA adapter (``peft``) on the base
chat model is trained with transformers' :class:`~transformers.Trainer` (loss on the action
tokens only; checkpoints in ``OUT/checkpoints``, a rerun resumes), then merged and saved as a
plain transformers folder, loadable as the model name ``hf:OUT``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError
from ponder.files import write_json_atomic
from ponder.learning.train_value import training_rows

__all__ = ["bc_examples", "train_actor"]

ACTOR_CARD = "actor.json"


def bc_examples(rows: Sequence[dict], *, min_reward: float = 1e-9) -> list[dict]:
    """(state row, target action) pairs along every path that reaches a state with reward >=
    ``min_reward``: for each solved state, each of its ancestors on the path and the action taken,
    except actions after which the page was unchanged (wasted steps on a lucky path)."""
    by_path = {(r["task"], int(r["seed"]), tuple(r["history"])): r for r in rows}
    out: dict[tuple, dict] = {}
    for r in rows:
        if float(r["reward"]) < min_reward:
            continue
        path = tuple(r["history"])
        for i in range(len(path)):
            key = (r["task"], int(r["seed"]), path[:i])
            state = by_path.get(key)
            after = by_path.get((r["task"], int(r["seed"]), path[:i + 1]))
            if after is not None and i + 1 < len(path) and after["observation"] == state_obs(state):
                continue  # the action changed nothing on the page (a wasted step): not worth cloning
            if state is not None and key not in out:
                out[key] = {"row": state, "action": path[i]}
    return list(out.values())


def state_obs(row: dict | None) -> str | None:
    return None if row is None else row["observation"]


def base_model_folder(name: str) -> Path:
    """The transformers folder of a registry model (a GGUF is converted once, as the backend does)."""
    from ponder.models.registry import resolve
    from ponder.models.spec import resolve_weights

    spec = resolve(name)
    if spec.backend != "transformers":
        raise ConfigError(f"model {name!r}: behaviour cloning needs a transformers model, not {spec.backend!r}")
    path = resolve_weights(spec.source)
    if path.suffix == ".gguf":
        from ponder.models.transformers_backend import converted_copy

        path = converted_copy(path)
    return path


def train_actor(
    data: str | Path | Sequence[str | Path],
    out: str | Path,
    *,
    base: str = "smollm2-135m",
    epochs: float = 2.0,
    batch_size: int = 4,
    learning_rate: float = 2e-4,
    lora_r: int = 16,
    max_length: int = 1024,
    max_steps: int = -1,
    save_steps: int = 50,
    seed: int = 0,
    threads: int | None = 1,
    actor_config: Any = None,
    callbacks: Sequence[Any] = (),
    show_progress: bool = True,
) -> dict:
    """Clone the successful trajectories in ``data`` into ``out`` (see the module docstring);
    returns the card written to ``out/actor.json``. Rerun to resume a killed run."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments
    from transformers.trainer_utils import get_last_checkpoint

    from ponder.agents.web_actor import ActorConfig, WebActor

    folders = [data] if isinstance(data, (str, Path)) else list(data)
    rows, splits = training_rows(folders)
    examples = bc_examples(rows)
    if not examples:
        raise ConfigError(f"{', '.join(map(str, folders))}: no successful trajectory to clone (no state with reward > 0)",
                          hint="collect with --value oracle so search finds successful paths")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if threads:
        torch.set_num_threads(threads)
    folder = base_model_folder(base)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token

    class _NoModel:
        name = base

    actor = WebActor(_NoModel(), actor_config or ActorConfig(max_obs_chars=800))  # type: ignore[arg-type]
    records = []
    for ex in examples:
        r = ex["row"]
        msgs = actor.messages(r["intent"], r["observation"], r.get("url", ""), list(r["history"]), error=r.get("error") or "")
        prompt = tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        a_ids = tokenizer(ex["action"] + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        ids = (p_ids + a_ids)[-max_length:]  # keep the action; cut the prompt's start if needed
        labels = ([-100] * len(p_ids) + a_ids)[-max_length:]
        records.append({"input_ids": ids, "labels": labels})

    def collate(batch: list[dict]) -> dict:
        width = max(len(b["input_ids"]) for b in batch)
        pad = tokenizer.pad_token_id
        return {
            "input_ids": torch.tensor([[pad] * (width - len(b["input_ids"])) + b["input_ids"] for b in batch]),
            "labels": torch.tensor([[-100] * (width - len(b["labels"])) + b["labels"] for b in batch]),
            "attention_mask": torch.tensor([[0] * (width - len(b["input_ids"])) + [1] * len(b["input_ids"]) for b in batch]),
        }

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=lora_r, lora_alpha=2 * lora_r, lora_dropout=0.05, task_type="CAUSAL_LM",
                                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    cuda = torch.cuda.is_available()
    args = TrainingArguments(
        output_dir=str(out / "checkpoints"), num_train_epochs=epochs, max_steps=max_steps,
        per_device_train_batch_size=batch_size, learning_rate=learning_rate, save_strategy="steps",
        save_steps=save_steps, save_total_limit=2, logging_steps=5, seed=seed, bf16=cuda, use_cpu=not cuda,
        report_to=[], remove_unused_columns=False, dataloader_num_workers=0, disable_tqdm=not show_progress,
    )
    trainer = Trainer(model=model, args=args, train_dataset=records, data_collator=collate, callbacks=list(callbacks))
    last = get_last_checkpoint(str(out / "checkpoints")) if (out / "checkpoints").is_dir() else None
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=last)
    seconds = time.perf_counter() - start
    state = trainer.state
    resumed_at = int(Path(last).name.rsplit("-", 1)[-1]) if last else 0  # checkpoint-N
    examples_seen = (state.global_step - resumed_at) * batch_size
    card: dict = {
        "kind": "filtered-bc-lora", "base": base, "splits": splits, "data": [str(f) for f in folders],
        "training": {"examples": len(records), "trajectories": len({(e["row"]["task"], e["row"]["seed"]) for e in examples}),
                     "epochs": epochs, "max_steps": max_steps,
                     "epochs_done": round(float(state.epoch or 0.0), 4),  # fewer than `epochs` when max_steps caps it
                     "global_step": state.global_step, "steps_planned": state.max_steps,
                     "batch_size": batch_size, "learning_rate": learning_rate, "lora_r": lora_r,
                     "wall_seconds": round(seconds, 2),
                     "examples_per_second": round(examples_seen / seconds, 3) if seconds else None,
                     "train_loss": round(float(result.training_loss), 5),
                     "resumed_from": Path(last).name if last else None, "device": "cuda" if cuda else "cpu"},
    }
    if state.max_steps > 0 and state.global_step < state.max_steps:
        card["finished"] = False
        return card
    merged = model.merge_and_unload()
    merged.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    card["finished"] = True
    write_json_atomic(out / ACTOR_CARD, card)
    return card
