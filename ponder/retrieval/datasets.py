"""Multi-hop QA datasets: HotpotQA (the distractor-setting JSON, plus a ``corpus.json`` of
``{title: [sentences]}``) and MuSiQue (JSONL or JSON records with ``paragraphs``).

``load_dataset("hotpotqa")`` reads ``$PONDER_DATA/hotpotqa`` or ``../shared/data/hotpotqa``;
any other value is a path (a folder holding ``questions.json``, a HotpotQA JSON file, or a
MuSiQue file; ``musique:PATH`` forces MuSiQue).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ponder.errors import ConfigError
from ponder.retrieval.documents import Document, doc_id_for


@dataclass(frozen=True)
class QAItem:
    """One question: gold answers (the first is the canonical one), supporting document titles."""

    id: str
    question: str
    answers: tuple[str, ...]
    supporting_titles: tuple[str, ...] = ()
    meta: dict = field(default_factory=dict, compare=False)


@dataclass
class QADataset:
    """Questions plus the passages to index for them."""

    name: str
    items: list[QAItem]
    passages: list[Document]
    source: str = ""

    def __len__(self) -> int:
        return len(self.items)


def _read_json_or_jsonl(path: Path) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}") from e
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from e
        return data
    records = []
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ConfigError(f"{path}:{i}: not a JSON record ({e.msg})") from e
    return records


def _passage(dataset: str, title: str, text: str) -> Document:
    source = f"{dataset}:{title}"
    return Document(doc_id_for(source), title, " ".join(text.split()), source, {"dataset": dataset})


def load_hotpotqa(path: str | os.PathLike) -> QADataset:
    """HotpotQA from a folder (``questions.json`` + optional ``corpus.json``) or a questions file.
    Without a corpus file, the passages are the union of the questions' contexts."""
    path = Path(path)
    qfile = path / "questions.json" if path.is_dir() else path
    if not qfile.is_file():
        raise ConfigError(f"no HotpotQA questions at {qfile}")
    records = _read_json_or_jsonl(qfile)
    items = []
    contexts: dict[str, str] = {}
    for i, r in enumerate(records):
        where = f"{qfile}: record {i}"
        for key in ("question", "answer"):
            if key not in r:
                raise ConfigError(f"{where} has no {key!r} field")
        titles = tuple(dict.fromkeys(t for t, _ in r.get("supporting_facts") or []))
        items.append(QAItem(str(r.get("_id", r.get("id", i))), r["question"], (str(r["answer"]),), titles,
                            {"type": r.get("type"), "level": r.get("level")}))
        for title, sentences in r.get("context") or []:
            contexts.setdefault(title, "".join(sentences))
    corpus_file = qfile.parent / "corpus.json"
    if corpus_file.is_file():
        try:
            corpus = json.loads(corpus_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ConfigError(f"{corpus_file}: not valid JSON ({e.msg})") from e
        if not isinstance(corpus, dict):
            raise ConfigError(f"{corpus_file}: expected an object {{title: [sentences]}}")
        contexts = {t: ("".join(s) if isinstance(s, list) else str(s)) for t, s in corpus.items()}
    passages = [_passage("hotpotqa", t, text) for t, text in contexts.items() if text.strip()]
    return QADataset("hotpotqa", items, passages, str(qfile))


def load_musique(path: str | os.PathLike) -> QADataset:
    """MuSiQue records (``id``, ``question``, ``answer``, ``answer_aliases``, ``paragraphs`` of
    ``title``, ``paragraph_text``, ``is_supporting``); the passages are every record's
    paragraphs, deduplicated by title and text."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no MuSiQue file at {path}")
    items, passages, seen = [], [], set()
    for i, r in enumerate(_read_json_or_jsonl(path)):
        where = f"{path}: record {i}"
        for key in ("question", "answer", "paragraphs"):
            if key not in r:
                raise ConfigError(f"{where} has no {key!r} field")
        answers = (str(r["answer"]), *[str(a) for a in r.get("answer_aliases") or []])
        support = []
        for j, p in enumerate(r["paragraphs"]):
            if "paragraph_text" not in p:
                raise ConfigError(f"{where}, paragraph {j} has no 'paragraph_text'")
            title = str(p.get("title") or f"paragraph {j}")
            key = (title, p["paragraph_text"])
            if key not in seen:
                seen.add(key)
                # titles repeat across MuSiQue paragraphs: the source keys on the text as well
                source = f"musique:{title}:{doc_id_for(p['paragraph_text'])}"
                passages.append(Document(doc_id_for(source), title, " ".join(p["paragraph_text"].split()), source,
                                         {"dataset": "musique"}))
            if p.get("is_supporting"):
                support.append(title)
        items.append(QAItem(str(r.get("id", i)), r["question"], answers, tuple(dict.fromkeys(support)),
                            {"answerable": r.get("answerable", True)}))
    return QADataset("musique", items, passages, str(path))


def default_data_dir() -> Path:
    """``$PONDER_DATA``, else the shared data folder next to the repository."""
    if os.environ.get("PONDER_DATA"):
        return Path(os.environ["PONDER_DATA"])
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidate = base.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return Path.cwd().parent / "shared" / "data"


def load_dataset(name_or_path: str) -> QADataset:
    """A dataset by name (``hotpotqa``) or path (see the module docstring)."""
    if name_or_path in ("hotpotqa", "hotpot"):
        folder = default_data_dir() / "hotpotqa"
        if not (folder / "questions.json").is_file():
            raise ConfigError(f"the HotpotQA data is not at {folder}", hint="set PONDER_DATA or pass --dataset PATH")
        return load_hotpotqa(folder)
    if name_or_path.startswith("musique:"):
        return load_musique(name_or_path.split(":", 1)[1])
    if name_or_path.startswith("hotpotqa:"):
        return load_hotpotqa(name_or_path.split(":", 1)[1])
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise ConfigError(f"no dataset at {path}", hint="use 'hotpotqa', a HotpotQA folder or file, or musique:PATH")
    if path.is_dir():
        return load_hotpotqa(path)
    first = _read_json_or_jsonl(path)[:1]
    if first and "paragraphs" in first[0]:
        return load_musique(path)
    return load_hotpotqa(path)
