import pytest


@pytest.fixture(scope="session")
def embedder():
    """The default embedder as shipped (the ONNX export is cached after its first use)."""
    from ponder.retrieval import Embedder

    return Embedder()


CORPUS = {
    "eiffel.txt": "The Eiffel Tower is a wrought-iron lattice tower in Paris, France. It was completed in 1889.",
    "gustave.md": "# Gustave Eiffel\n\nGustave Eiffel was a French civil engineer born in Dijon in 1832. His company built the Eiffel Tower.",
    "python.html": "<html><head><title>Python</title><style>p{}</style></head><body><p>Python is a programming language "
                   "created by Guido van Rossum.</p><script>var x = 1;</script></body></html>",
    "rivers.jsonl": '{"id": "nile", "title": "Nile", "text": "The Nile is a river in Africa, about 6650 km long."}\n'
                    '{"id": "amazon", "title": "Amazon", "text": "The Amazon river flows through Brazil and Peru."}\n',
}


@pytest.fixture
def corpus_dir(tmp_path):
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    for name, text in CORPUS.items():
        (root / ("sub" if name.endswith(".jsonl") else "") / name).write_text(text)
    return root


MUSIQUE = [
    {"id": "2hop__1", "question": "Who founded the company that makes the iPhone?", "answer": "Steve Jobs",
     "answer_aliases": ["Steven Paul Jobs", "Jobs"], "answerable": True,
     "paragraphs": [
         {"idx": 0, "title": "iPhone", "paragraph_text": "The iPhone is made by Apple Inc.", "is_supporting": True},
         {"idx": 1, "title": "Apple Inc.", "paragraph_text": "Apple was founded by Steve Jobs and Steve Wozniak.", "is_supporting": True},
         {"idx": 2, "title": "Banana", "paragraph_text": "Bananas are yellow.", "is_supporting": False},
     ]},
    {"id": "2hop__2", "question": "What colour are bananas?", "answer": "yellow", "answer_aliases": [],
     "paragraphs": [{"title": "Banana", "paragraph_text": "Bananas are yellow.", "is_supporting": True}]},
]


@pytest.fixture
def musique_records():
    """Two MuSiQue-shaped records (the real files are not shipped)."""
    return [dict(r) for r in MUSIQUE]
