"""Small synthetic collections (no browser) for the learning tests."""

from __future__ import annotations

from pathlib import Path

from ponder.files import JsonlWriter, write_json_atomic
from ponder.learning.collect import FORMAT
from ponder.learning.dataset import build_dataset

SOLVED_PAGE = "[1] RootWebArea 'Task'\n\t[2] StaticText 'Done: you clicked the right button.'"
OPEN_PAGE = "[1] RootWebArea 'Task'\n\t[2] button 'ok'\n\t[3] button 'cancel'\n\t[4] textbox"


def make_collection(folder: Path, *, tasks=("click-button", "focus-text"), seeds=(1000, 1001), role="train") -> Path:
    """A collection folder with, per episode, a start state, a solved child and a failed child."""
    write_json_atomic(folder / "metadata.json", {"format": FORMAT, "env": "miniwob", "gamma": 0.9, "runs": [],
                                                 "split": {"env": "miniwob", "role": role, "tasks": list(tasks), "seeds": list(seeds)}})
    w = JsonlWriter(folder / "raw" / "states.jsonl")
    for t in tasks:
        for s in seeds:
            base = {"run": "test", "task": t, "seed": s, "intent": f"Click on the ok button ({t}).", "url": "", "error": "",
                    "answer": None, "env_error": ""}
            w.write({**base, "path": [], "observation": OPEN_PAGE, "done": False, "reward": 0.0})
            w.write({**base, "path": ["click [2]"], "observation": SOLVED_PAGE, "done": True, "reward": 1.0})
            w.write({**base, "path": ["click [3]"], "observation": OPEN_PAGE + "\n\t[5] StaticText 'Wrong.'", "done": True, "reward": 0.0})
    build_dataset(folder)
    return folder
