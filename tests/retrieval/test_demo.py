from rich.console import Console

from ponder.graphs.qa_demo import qa_demo
from ponder.models.scripted import ScriptedChatModel


def test_qa_demo_prints_answer_and_evidence(monkeypatch):
    import ponder.models.registry as registry

    monkeypatch.setattr(registry, "load_model", lambda name=None, **kw: ScriptedChatModel(default="Dijon"))
    console = Console(record=True, width=200)
    result = qa_demo(console, None)
    text = console.export_text()
    assert "answer: Dijon" in text
    assert "Gustave Eiffel" in text and "gustave-eiffel.md" in text
    assert result["usage"]["retrievals"] == 1 and result["evidence"]
