"""``run_qa_eval``: rows, metrics, resumability, on a tiny MuSiQue file with a scripted model."""

import json

import pytest

from ponder.errors import ConfigError
from ponder.evals.qa import compare_table, run_qa_eval, summarize
from ponder.models.scripted import ScriptedChatModel
from ponder.retrieval.datasets import load_dataset


@pytest.fixture
def musique(tmp_path, musique_records):
    path = tmp_path / "musique.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in musique_records) + "\n")
    return path


def scripted():
    def answer(messages):
        return "Steve Jobs founded it." if "iPhone" in messages[-1]["content"] else "They are green."
    return ScriptedChatModel([(r"Only give me the answer", answer)])


def test_rows_have_the_report_fields_and_resume(musique, tmp_path):
    out = tmp_path / "single.jsonl"
    llm = scripted()
    rows = run_qa_eval(f"musique:{musique}", "single", llm=llm, out=out, limit=1, show_progress=False)
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == "2hop__1" and row["kind"] == "qa" and row["strategy"] == "single" and row["model"] == "scripted"
    assert row["prediction"] == "Steve Jobs founded it"
    assert row["metrics"]["acc"] == 1.0 and row["success"] is True
    assert row["metrics"]["em"] == 0.0 and 0 < row["score"] == row["metrics"]["f1"] < 1
    supporting = load_dataset(f"musique:{musique}").items[0].supporting_titles
    assert row["metrics"]["sp_recall"] == 1.0 and set(supporting) <= set(row["evidence"])
    assert not {"question", "gold", "supporting"} & set(row)  # the data stays in the dataset, joined by id
    assert row["usage"]["calls"] == 1 and row["usage"]["retrievals"] == 1 and row["seconds"] >= 0
    assert row["coverage"] == [1.0]
    # resume: the first question is not asked again
    calls_before = len(llm.calls)
    rows = run_qa_eval(f"musique:{musique}", "single", llm=llm, out=out, show_progress=False)
    assert [r["id"] for r in rows] == ["2hop__1", "2hop__2"] and len(llm.calls) == calls_before + 1
    assert rows[1]["success"] is False and rows[1]["metrics"]["acc"] == 0.0
    summary = summarize(rows)
    assert summary["acc"] == 0.5 and summary["calls"] == 1 and summary["questions"] == 2


def test_rescoring_reads_the_gold_answers_from_the_dataset(musique, tmp_path):
    out = tmp_path / "single.jsonl"
    run_qa_eval(f"musique:{musique}", "single", llm=scripted(), out=out, limit=1, show_progress=False)
    row = json.loads(out.read_text())
    row["raw"] = "Answer: Steve Jobs."  # as if an older parser had read this reply wrongly
    out.write_text(json.dumps(row) + "\n")
    _, plain = compare_table([out])
    _, rescored = compare_table([out], rescore=True, dataset=f"musique:{musique}")
    assert plain["single"]["em"] == 0.0 and rescored["single"]["em"] == 1.0


def test_budget_failures_become_failed_rows(musique, tmp_path):
    rows = run_qa_eval(f"musique:{musique}", "single", llm=scripted(), out=tmp_path / "b.jsonl",
                       budget="retrievals=0", show_progress=False)
    assert all(r["success"] is False and r["stop"].startswith("BudgetExceeded") for r in rows)


def test_unknown_method_is_refused(musique, tmp_path):
    with pytest.raises(ConfigError, match="unknown QA method"):
        run_qa_eval(f"musique:{musique}", "bogus", llm=scripted(), out=tmp_path / "x.jsonl")


def test_adaptive_note_rows_record_each_judged_step(musique, tmp_path):
    def reply(messages):
        text = messages[-1]["content"]
        if "Reply with A or B" in text:
            return "A"  # a position-biased judge: its verdicts split and the gain rule decides
        if "Write one new search query" in text:
            return "Apple Inc. founders"
        if "Write notes" in text or "Rewrite the notes" in text:
            return "The iPhone is designed by Apple Inc. Apple was founded by Steve Jobs." + (" More." if "Current" in text else "")
        return "Steve Jobs"

    rows = run_qa_eval(f"musique:{musique}", "adaptive-note", llm=ScriptedChatModel(default=reply), out=tmp_path / "an.jsonl",
                       limit=1, top_k=1, show_progress=False)
    judged = rows[0]["judged"]
    assert judged and all(j["verdict"] == "split" and isinstance(j["accepted"], bool) and "gain" in j for j in judged)
