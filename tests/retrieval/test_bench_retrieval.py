from ponder.evals.bench.retrieval import _recall_at, synthetic_passages
from ponder.retrieval import read_document


def test_synthetic_passages_are_deterministic_and_similar_in_length():
    corpus = [read_document(f"d{i}.txt", " ".join(f"Sentence {j} of document {i} has several words in it." for j in range(8)))
              for i in range(5)]
    a, b = synthetic_passages(corpus, 20, seed=0), synthetic_passages(corpus, 20, seed=0)
    assert [p.text for p in a] == [p.text for p in b] and len({p.doc_id for p in a}) == 20
    assert synthetic_passages(corpus, 3, seed=1)[0].text != a[0].text
    lengths = {len(d.text.split()) for d in corpus}
    assert all(len(p.text.split()) in lengths for p in a)


def test_recall_at_k_counts_gold_titles():
    import numpy as np

    vectors = np.eye(3, dtype="f4")
    assert _recall_at(vectors, ["a", "b", "c"], vectors[:2], [("a",), ("c", "b")], k=1) == 0.75
