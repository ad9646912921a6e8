import json

import pytest

from ponder.errors import ConfigError
from ponder.retrieval.datasets import default_data_dir, load_dataset, load_hotpotqa, load_musique


def test_musique_loader(tmp_path, musique_records):
    MUSIQUE = musique_records
    path = tmp_path / "musique_dev.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in MUSIQUE) + "\n")
    ds = load_musique(path)
    assert [it.id for it in ds.items] == ["2hop__1", "2hop__2"]
    assert ds.items[0].answers == ("Steve Jobs", "Steven Paul Jobs", "Jobs")
    assert ds.items[0].supporting_titles == ("iPhone", "Apple Inc.")
    assert sorted(p.title for p in ds.passages) == ["Apple Inc.", "Banana", "iPhone"]  # deduplicated
    assert load_dataset(str(path)).name == "musique"
    assert load_dataset(f"musique:{path}").name == "musique"
    json_path = tmp_path / "musique.json"
    json_path.write_text(json.dumps(MUSIQUE))
    assert len(load_musique(json_path)) == 2


def test_musique_bad_record_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "x", "question": "q", "answer": "a"}) + "\n")
    with pytest.raises(ConfigError, match="record 0 has no 'paragraphs'"):
        load_musique(path)
    with pytest.raises(ConfigError, match="no dataset"):
        load_dataset(str(tmp_path / "missing.jsonl"))


HOTPOT = default_data_dir() / "hotpotqa"


@pytest.mark.skipif(not (HOTPOT / "questions.json").exists(), reason=f"the shared HotpotQA data is not at {HOTPOT}")
def test_hotpotqa_from_the_shared_folder():
    ds = load_dataset("hotpotqa")
    assert len(ds.items) == 100 and len(ds.passages) == 994
    first = ds.items[0]
    assert first.supporting_titles and first.answers[0]
    titles = {p.title for p in ds.passages}
    assert all(t in titles for it in ds.items for t in it.supporting_titles)


def test_hotpotqa_without_corpus_uses_contexts(tmp_path):
    record = {"_id": "q1", "question": "Who?", "answer": "Bob", "supporting_facts": [["Bob", 0]],
              "context": [["Bob", ["Bob is a builder.", " He lives here."]], ["Alice", ["Alice codes."]]]}
    (tmp_path / "questions.json").write_text(json.dumps([record]))
    ds = load_hotpotqa(tmp_path)
    assert {p.title: p.text for p in ds.passages} == {"Bob": "Bob is a builder. He lives here.", "Alice": "Alice codes."}
