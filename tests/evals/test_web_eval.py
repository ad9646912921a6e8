"""The web eval runner on the toy environment (scripted model): rows, traces, workers that own
their environment, resumability, and ``ponder report``."""

from __future__ import annotations

import json
import threading

import pytest
from typer.testing import CliRunner

from ponder.agents.value_judge import JudgeConfig
from ponder.environments.toy import TOY_POLICY, TOY_STATUSES, ToyEnv, ToyTask, price_task, scripted_web_model
from ponder.evals.report import markdown, summarize, wilson
from ponder.evals.runner import read_rows
from ponder.evals.web import EvalItem, run_eval, select_tasks, strategy_label
from ponder.graphs.web_agent import WebAgentConfig


class TrackedToyEnv(ToyEnv):
    made: list = []

    def __init__(self):
        super().__init__()
        self.thread = threading.get_ident()
        self.used_threads: set = set()
        TrackedToyEnv.made.append(self)

    def step(self, action):
        self.used_threads.add(threading.get_ident())
        return super().step(action)

    def close(self):
        self.closed_in = threading.get_ident()
        super().close()


def items(k=4):
    tasks = [price_task()] + [ToyTask(f"toy-{i}", "What is the price of the Zen Laptop?", answer="$999") for i in range(k - 1)]
    return [EvalItem(t.task_id, t, "toy", "easy") for t in tasks]


def test_rows_traces_workers_and_resume(tmp_path):
    TrackedToyEnv.made = []
    model = scripted_web_model(TOY_POLICY, TOY_STATUSES)
    out = tmp_path / "res.jsonl"
    rows = run_eval(items(4), kind="web", env_factory=TrackedToyEnv, strategy="best-first", model=model,
                    config=WebAgentConfig(), workers=2, out=out, show_progress=False)
    assert len(rows) == 4 and {r["id"] for r in rows} == {"toy-price", "toy-0", "toy-1", "toy-2"}
    for r in rows:
        assert r["kind"] == "web" and r["strategy"] == "best-first" and r["label"] == "best-first c=10 b=3"
        assert r["success"] is True and r["score"] == 1.0 and r["error"] is None
        assert r["usage"]["calls"] > 0 and r["usage"]["env_steps"] > 0 and r["seconds"] >= 0
        assert r["finished"].endswith("+00:00")  # a UTC timestamp: throughput over a run
        trace = json.loads(open(r["trace"]).read())
        assert trace["score"] == 1.0 and trace["task_id"] == r["id"] and trace["committed"]
    # each worker made its environment, used it and closed it in its own thread
    assert 1 <= len(TrackedToyEnv.made) <= 2
    for env in TrackedToyEnv.made:
        assert env.used_threads == {env.thread} and env.closed_in == env.thread
    # the checkpoints of finished tasks were removed; a second run does nothing
    calls = len(model.calls)
    again = run_eval(items(4), kind="web", env_factory=TrackedToyEnv, strategy="best-first", model=model,
                     workers=2, out=out, show_progress=False)
    assert len(again) == 4 and len(model.calls) == calls


def test_a_crashing_environment_is_an_error_row_not_a_crash(tmp_path):
    class Broken(ToyEnv):
        def step(self, action):
            raise RuntimeError("browser went away")

    rows = run_eval(items(2), kind="web", env_factory=Broken, strategy="greedy",
                    model=scripted_web_model(TOY_POLICY, TOY_STATUSES), out=tmp_path / "r.jsonl", show_progress=False)
    assert len(rows) == 2 and all(r["error"] and "browser went away" in r["error"] and r["success"] is False for r in rows)


def test_select_tasks_by_site_ids_and_stratified():
    class T:
        def __init__(self, i, site, level):
            self.task_id, self.sites, self.difficulty = f"{site}-{i}", [site], level

    tasks = [T(i, s, ("easy", "medium", "hard")[i % 3]) for s in ("shop", "wiki") for i in range(9)]
    assert len(select_tasks(tasks, "all")) == 18
    assert {t.sites[0] for t in select_tasks(tasks, "wiki")} == {"wiki"}
    assert [t.task_id for t in select_tasks(tasks, "shop-1,wiki-2")] == ["shop-1", "wiki-2"]
    picked = select_tasks(tasks, "all", per_site=4, seed=1)
    assert len(picked) == 8
    for site in ("shop", "wiki"):
        levels = [t.difficulty for t in picked if t.sites[0] == site]
        assert len(levels) == 4 and set(levels) == {"easy", "medium", "hard"}
    assert [t.task_id for t in picked] == [t.task_id for t in select_tasks(tasks, "all", per_site=4, seed=1)]
    from ponder.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown task id"):
        select_tasks(tasks, "shop-1,nope")


def test_wilson_interval():
    lo, hi = wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-3) and hi == pytest.approx(0.7634, abs=1e-3)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0 and wilson(0, 0) == (0.0, 0.0)


def test_report_groups_rows_and_writes_a_plot(tmp_path):
    rows_a = [{"id": str(i), "kind": "web", "strategy": "greedy", "label": "greedy", "model": "m", "success": i < 2,
               "score": float(i < 2), "usage": {"tokens": 100, "calls": 2, "env_steps": 3}, "seconds": 1.0} for i in range(4)]
    rows_b = [{"id": str(i), "kind": "qa", "strategy": "note", "model": "m", "success": True, "score": 1.0,
               "metrics": {"f1": 0.5 + 0.1 * i, "em": 0}, "usage": {"tokens": 1000, "calls": 5}, "seconds": 2.0} for i in range(2)]
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("\n".join(json.dumps(r) for r in rows_a) + "\n")
    b.write_text("\n".join(json.dumps(r) for r in rows_b) + "\n")
    summary = summarize(read_rows(a) + read_rows(b))
    web, qa = summary
    assert (web["n"], web["successes"], web["tokens"], web["env_steps"]) == (4, 2, 100, 3)
    assert qa["metrics"]["f1"] == pytest.approx(0.55) and qa["metrics"]["em"] == 0
    assert "| web | greedy | m | 4 | 0.500 |" in markdown(summary)

    from ponder.cli.main import app

    png = tmp_path / "plot.png"
    result = CliRunner().invoke(app, ["report", str(a), str(b), "--png", str(png), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["strategy"] for s in data["summary"]] == ["greedy", "note"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_names_a_missing_file(tmp_path):
    from ponder.cli.main import main

    with pytest.raises(SystemExit) as e:
        main(["report", str(tmp_path / "nope.jsonl")])
    assert e.value.code == 1


def test_strategy_labels():
    assert strategy_label("best-first", WebAgentConfig(value_budget=5)) == "best-first c=5 b=3"
    assert strategy_label("greedy", WebAgentConfig(value="oracle")) == "greedy oracle"
    assert strategy_label("best-first", WebAgentConfig(value_budget=5), "big") == "best-first c=5 b=3 judge=big"
    assert strategy_label("best-first", WebAgentConfig(value_budget=5, threshold=2)) == "best-first c=5 b=3 t=2"
    graded = WebAgentConfig(judge=JudgeConfig(graded=True))
    assert strategy_label("best-of-n", graded, "big") == "best-of-n N=4 graded judge=big"
    assert strategy_label("greedy", graded) == "greedy"


def _judged(model) -> list[bool]:
    return [m[0]["content"].startswith("You check") for m in model.calls]


def test_a_separate_judge_model_values_the_states(tmp_path):
    # The actor's own judgement is wrong everywhere; alone it cannot find the best path.
    wrong = {page: "failure" for page in TOY_STATUSES} | {"Home": "success", "Books": "success", "answer:$12": "success"}
    actor = scripted_web_model(TOY_POLICY, wrong, name="actor")
    alone = run_eval(items(1), kind="web", env_factory=ToyEnv, strategy="best-first", model=actor,
                     out=tmp_path / "alone.jsonl", show_progress=False)
    assert alone[0]["success"] is False and "judge_model" not in alone[0]
    # With a judge model of its own, search is guided by that judge and the actor never judges.
    actor = scripted_web_model(TOY_POLICY, wrong, name="actor")
    judge = scripted_web_model(TOY_POLICY, TOY_STATUSES, name="judge")
    rows = run_eval(items(1), kind="web", env_factory=ToyEnv, strategy="best-first", model=actor, judge_model=judge,
                    out=tmp_path / "judged.jsonl", show_progress=False)
    row = rows[0]
    assert row["success"] is True and row["judge_model"] == "judge" and row["label"] == "best-first c=10 b=3 judge=judge"
    assert _judged(actor) and not any(_judged(actor)) and _judged(judge) and all(_judged(judge))
    trace = json.loads(open(row["trace"]).read())
    assert (trace["model"], trace["judge_model"]) == ("actor", "judge")
    # both models' calls are charged to the run's ledger
    assert row["usage"]["calls"] == len(actor.calls) + len(judge.calls)
    # a strategy without a judge ignores the option
    greedy = run_eval(items(1), kind="web", env_factory=ToyEnv, strategy="greedy", model=actor, judge_model=judge,
                      out=tmp_path / "greedy.jsonl", show_progress=False)
    assert "judge_model" not in greedy[0] and greedy[0]["label"] == "greedy"


@pytest.mark.parametrize("command", ["web", "miniwob"])
def test_cli_passes_the_shared_agent_and_run_options(command, monkeypatch, tmp_path):
    import ponder.evals.web as web_eval
    from ponder.cli.main import app

    seen = {}
    monkeypatch.setattr(web_eval, f"run_{'web' if command == 'web' else 'miniwob'}_eval", lambda **kw: seen.update(kw) or [])
    args = ["eval", command, "--out", str(tmp_path / "r.jsonl"), "--tasks", "a,b", "--strategy", "best-first",
            "-c", "7", "--branching", "2", "--horizon", "4", "--candidates", "3", "--value", "oracle", "--seed", "5",
            "--budget", "calls=9", "--workers", "2", "--label", "L", "--trace-dir", str(tmp_path / "t"),
            "--judge-model", "llamacpp:smollm2-135m", "--graded-judge"]
    result = CliRunner().invoke(app, args + (["--episodes", "2"] if command == "miniwob" else ["--per-site", "1"]))
    assert result.exit_code == 0, result.output
    config = seen["config"]
    assert (config.value_budget, config.branching, config.horizon, config.actor.n, config.value, config.seed) == (7, 2, 4, 3, "oracle", 5)
    assert seen["budget"].calls == 9 and seen["workers"] == 2 and seen["label"] == "L" and seen["strategy"] == "best-first"
    assert seen["tasks"] == "a,b" and seen["trace_dir"] == str(tmp_path / "t") and "seed" not in seen
    assert seen["judge_model"] == "llamacpp:smollm2-135m" and config.judge.graded is True
    assert seen.get("episodes", seen.get("per_site")) in (1, 2)


def test_wilson_bounds_are_exact_at_zero_and_all_successes(tmp_path):
    assert wilson(0, 20)[0] == 0.0 and wilson(20, 20)[1] == 1.0
    rows = [{"kind": "qa", "strategy": "none", "model": "m", "success": False, "score": 0.0, "usage": {}}] * 20
    from ponder.evals.report import plot

    plot(summarize(rows), tmp_path / "p.png")  # an all-failure row plots (no negative error bar)
    assert (tmp_path / "p.png").stat().st_size > 0


def test_a_crowded_plot_puts_its_legend_beside_the_points(tmp_path):
    from ponder.evals.report import plot

    def png_width(path) -> int:
        return int.from_bytes(path.read_bytes()[16:20], "big")  # the IHDR chunk's width

    def rows(n):
        return [{"kind": "miniwob", "strategy": f"s{i}", "model": "m", "success": i % 2 == 0, "score": 0.0,
                 "usage": {"tokens": 100 * (i + 1)}} for i in range(n)]

    few, many = plot(summarize(rows(3)), tmp_path / "few.png"), plot(summarize(rows(12)), tmp_path / "many.png")
    assert png_width(many) > png_width(few)  # the figure widens to hold the legend outside the axes


def test_plot_legend_names_the_model_only_where_two_rows_share_a_strategy():
    from ponder.evals.report import legend_label

    def row(strategy, model):
        return {"id": "t", "kind": "miniwob", "strategy": strategy, "model": model, "success": True, "score": 1.0,
                "usage": {}}

    summary = summarize([row("greedy", "base"), row("greedy", "hf:actor"), row("best-first", "base")])
    labels = sorted(legend_label(s, summary) for s in summary)
    assert labels == ["miniwob: best-first (n=1)", "miniwob: greedy [base] (n=1)", "miniwob: greedy [hf:actor] (n=1)"]


def test_paired_comparison_counts_discordant_tasks_and_mcnemar():
    from ponder.evals.report import mcnemar_p, paired, paired_markdown

    assert mcnemar_p(0, 0) == 1.0 and mcnemar_p(3, 3) == 1.0
    assert mcnemar_p(0, 7) == pytest.approx(2 / 2**7) and mcnemar_p(1, 7) == pytest.approx(2 * 9 / 2**8)

    def row(strategy, task, ok, kind="web"):
        return {"kind": kind, "strategy": strategy, "model": "m", "id": task, "success": ok}

    rows = [row("greedy", t, t in "ab") for t in "abcdef"]
    rows += [row("search", t, t in "bcde") for t in "abcdeg"]  # g was not run by greedy: not paired
    rows += [row("greedy", "x", True, kind="qa")]  # another kind: never paired with web rows
    (p,) = paired(rows, "greedy")
    assert (p["tasks"], p["both"], p["only_baseline"], p["only_strategy"], p["neither"]) == (5, 1, 1, 3, 0)
    assert p["mcnemar_p"] == pytest.approx(mcnemar_p(1, 3), abs=1e-4) and "| web | greedy | search |" in paired_markdown([p])


@pytest.mark.parametrize("xs", [[3900.0, 6100.0, 8500.0], [130.0, 800.0, 4000.0], [0.0, 50.0, 4000.0]])
def test_the_token_axis_is_labelled_within_the_data(xs):
    # a log axis whose points lie between two powers of ten used to show no tick label at all
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ponder.evals.report import _token_axis

    fig, ax = plt.subplots()
    ax.plot(xs, [0.1, 0.2, 0.3], "o")
    _token_axis(ax, xs)
    fig.canvas.draw()
    lo, hi = ax.get_xlim()
    labels = [t.get_text() for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi and t.get_text()]
    plt.close(fig)
    assert len(labels) >= 2 and all(label.replace(",", "").isdigit() for label in labels), labels
