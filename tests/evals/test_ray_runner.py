"""The Ray backend on a local Ray cluster with two worker processes: the same rows as the local
backend, every row exactly once after a worker is SIGKILLed, hung units killed (with the
processes under them) and recorded as error rows, drivers killed and restarted, and one clear
error for each kind of bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from ponder.errors import BackendUnavailable, ConfigError  # noqa: E402
from ponder.evals.backends import make_runner  # noqa: E402
from ponder.evals.ray_runner import RayRunner, RayWorkerError  # noqa: E402
from ponder.evals.runner import Job, LocalRunner, read_rows, run_job  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# the workers rebuild this module's helpers from their pickled code, not by importing the file
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def cluster():
    """One small local Ray cluster for the module: two CPUs (two workers), no dashboard."""
    os.environ.setdefault("PYTHONPATH", str(REPO))
    if str(REPO) not in os.environ["PYTHONPATH"].split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), os.environ["PYTHONPATH"]])
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 1024 * 1024, logging_level="ERROR")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def strip(row: dict) -> dict:
    """A row without what may differ between backends: timings, worker ids, paths of traces."""
    drop = {"seconds", "finished", "worker", "trace", "wall_seconds", "env_seconds"}
    out = {}
    for k, v in row.items():
        if k in drop:
            continue
        out[k] = strip(v) if isinstance(v, dict) else v
    return out


def ids_in(path: Path) -> Counter:
    return Counter(json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip())


# ---- generic jobs --------------------------------------------------------------------------

def plain_state():
    return {"pid": os.getpid()}


def square(state, unit):
    release = unit.get("release")
    if release:  # wait (bounded) until the test lets the unit go on
        deadline = time.monotonic() + 120
        while not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.05)
    if unit.get("hang"):
        # a "browser" under the worker, in its own session as Playwright starts Chromium
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)"], start_new_session=True)
        Path(unit["hang"]).write_text(f"{os.getpid()} {child.pid}")
        time.sleep(1000)
    return {"value": unit["n"] ** 2, "success": True, "score": 1.0}


def test_rows_are_written_once_by_the_driver_and_match_the_local_backend(cluster, tmp_path):
    units = [{"id": f"u{i}", "n": i} for i in range(8)]
    job = Job(plain_state, square, name="squares")
    local = run_job(job, units, out=tmp_path / "local.jsonl", key=lambda u: u["id"], runner=LocalRunner(2),
                    show_progress=False)
    runner = RayRunner("local", workers=2)
    remote = run_job(job, units, out=tmp_path / "ray.jsonl", key=lambda u: u["id"], runner=runner, show_progress=False)
    assert sorted(map(strip, local), key=lambda r: r["id"]) == sorted(map(strip, remote), key=lambda r: r["id"])
    assert {r["worker"]["attempt"] for r in remote} == {1}
    assert runner.last_stats.rows == 8 and runner.last_stats.worker_deaths == 0
    # resumable: nothing is left to do
    again = run_job(job, units, out=tmp_path / "ray.jsonl", key=lambda u: u["id"], runner=RayRunner("local", workers=2),
                    show_progress=False)
    assert len(again) == 8 and ids_in(tmp_path / "ray.jsonl") == Counter({u["id"]: 1 for u in units})


def test_a_sigkilled_worker_is_replaced_and_every_row_is_written_exactly_once(cluster, tmp_path):
    release = tmp_path / "release"
    units = [{"id": f"u{i}", "n": i, **({"release": str(release)} if i >= 4 else {})} for i in range(12)]
    out = tmp_path / "rows.jsonl"
    runner = RayRunner("local", workers=2, max_attempts=3)
    killed: list[int] = []

    def killer():
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:  # both workers are now inside units that wait for the release
            if out.exists() and len(read_rows(out)) >= 4 and len([s for s in runner.slots if s.ready]) == 2:
                break
            time.sleep(0.05)
        time.sleep(0.5)
        pid = int(runner.slots[0].info["pid"])
        os.kill(pid, 9)
        killed.append(pid)
        release.write_text("go")

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    rows = run_job(Job(plain_state, square, name="squares"), units, out=out, key=lambda u: u["id"], runner=runner,
                   show_progress=False)
    t.join(timeout=10)
    assert killed, "the worker was never killed"
    assert ids_in(out) == Counter({u["id"]: 1 for u in units})  # every unit once, none twice
    assert all(r.get("error") is None and r["value"] == int(r["id"][1:]) ** 2 for r in rows)
    stats = runner.last_stats
    assert stats.worker_deaths == 1 and stats.retries == 1 and stats.workers_started == 3
    retried = [r for r in rows if r["worker"]["attempt"] == 2]
    assert len(retried) == 1 and str(killed[0]) not in retried[0]["worker"]["id"]
    assert "its worker died" in stats.summary()


def test_a_hung_unit_is_killed_with_its_processes_and_becomes_an_error_row(cluster, tmp_path):
    psutil = pytest.importorskip("psutil")
    marker = tmp_path / "hung.pids"
    units = [{"id": "ok-1", "n": 1}, {"id": "hang", "n": 2, "hang": str(marker)}, {"id": "ok-3", "n": 3}]
    runner = RayRunner("local", workers=2, unit_timeout=5, max_attempts=2, cancel_grace=1)
    rows = run_job(Job(plain_state, square, name="squares"), units, out=tmp_path / "r.jsonl", key=lambda u: u["id"],
                   runner=runner, show_progress=False)
    by_id = {r["id"]: r for r in rows}
    assert len(rows) == 3 and by_id["ok-1"]["value"] == 1 and by_id["ok-3"]["value"] == 9
    hung = by_id["hang"]
    assert hung["success"] is False and hung["worker"]["attempt"] == 2
    assert re.search(r"failed 2 time\(s\): attempt 1 on .*timed out after 5 s .*attempt 2 on .*timed out after 5 s", hung["error"])
    assert runner.last_stats.timeouts == 2 and runner.last_stats.error_rows == 1
    worker_pid, child_pid = map(int, marker.read_text().split())
    deadline = time.monotonic() + 30  # the last attempt's worker and its "browser" are gone
    while time.monotonic() < deadline and any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                                              for p in (worker_pid, child_pid)):
        time.sleep(0.2)
    for pid in (worker_pid, child_pid):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def polite(state, unit):
    """A long unit that stops when the driver cancels it."""
    from ponder.evals.ray_runner import unit_cancelled

    deadline = time.monotonic() + 120
    while unit.get("slow") and time.monotonic() < deadline:
        if unit_cancelled():
            raise TimeoutError("stopped on request")
        time.sleep(0.05)
    return {"value": unit["n"], "pid": os.getpid()}


def test_a_unit_that_stops_when_cancelled_keeps_its_worker(cluster, tmp_path):
    units = [{"id": "slow", "n": 1, "slow": True}, {"id": "fast", "n": 2}]
    runner = RayRunner("local", workers=1, unit_timeout=3, max_attempts=1, cancel_grace=60)
    rows = {r["id"]: r for r in run_job(Job(plain_state, polite), units, out=tmp_path / "r.jsonl", key=lambda u: u["id"],
                                          runner=runner, show_progress=False)}
    assert "timed out after 3 s (cancelled)" in rows["slow"]["error"] and rows["fast"]["value"] == 2
    assert runner.last_stats.workers_started == 1 and runner.last_stats.timeouts == 1  # no worker was killed


# ---- bad input -------------------------------------------------------------------------------

def broken_model():
    from ponder.errors import BackendUnavailable

    raise BackendUnavailable("model weights not found at /nowhere/model.gguf")


def test_a_model_that_cannot_load_on_a_worker_is_one_clear_error_and_rows_stay(cluster, tmp_path):
    out = tmp_path / "r.jsonl"
    units = [{"id": f"u{i}", "n": i} for i in range(4)]
    run_job(Job(plain_state, square), units[:2], out=out, key=lambda u: u["id"], show_progress=False)
    job = Job(lambda: broken_model(), square, name="qa eval")
    with pytest.raises(RayWorkerError, match=r"could not be set up for the qa eval job: BackendUnavailable: model weights "
                                             r"not found at /nowhere/model.gguf"):
        run_job(job, units, out=out, key=lambda u: u["id"], runner=RayRunner("local", workers=2), show_progress=False)
    assert ids_in(out) == Counter({"u0": 1, "u1": 1})


def test_a_worker_that_cannot_import_a_module_is_named(cluster, tmp_path):
    mod = tmp_path / "only_on_the_driver"
    mod.mkdir()
    (mod / "driver_only_helpers.py").write_text("def make():\n    return {}\n")
    sys.path.insert(0, str(mod))
    try:
        import driver_only_helpers

        job = Job(driver_only_helpers.make, square, name="web eval")
        with pytest.raises(RayWorkerError, match="a worker cannot import 'driver_only_helpers'"):
            run_job(job, [{"id": "a", "n": 1}], out=tmp_path / "r.jsonl", key=lambda u: u["id"],
                    runner=RayRunner("local", workers=1), show_progress=False)
    finally:
        sys.path.remove(str(mod))


def test_unreachable_cluster_and_bad_options_are_named():
    with pytest.raises(BackendUnavailable, match="cannot reach the Ray cluster at 127.0.0.1:1"):
        from ponder.evals.ray_runner import connect

        connect("127.0.0.1:1")
    with pytest.raises(ConfigError, match="is not local, auto or HOST:PORT"):
        from ponder.evals.ray_runner import connect

        connect("somewhere")
    with pytest.raises(ConfigError, match="--unit-timeout needs --ray"):
        make_runner(None, unit_timeout=5)
    assert isinstance(make_runner("local", workers=3), RayRunner)


def test_the_cli_names_an_unreachable_cluster(tmp_path):
    r = subprocess.run([sys.executable, "-m", "ponder.cli.main", "eval", "qa", "--out", str(tmp_path / "r.jsonl"),
                        "--method", "none", "--ray", "127.0.0.1:1", "--limit", "1"],
                       capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in r.stderr, r.stderr


# ---- real evaluations ---------------------------------------------------------------------------

def miniwob_model():
    """A deterministic actor for click-button and click-link, reading the objective."""
    from ponder.testing import ScriptedChatModel

    def act(messages):
        text = messages[-1]["content"]
        m = re.search(r'Click on the "([^"]+)" button', text)
        if m:
            return f"click [button '{m.group(1)}']"
        m = re.search(r'Click on the link "([^"]+)"', text)
        if m:
            return f"click [StaticText '{m.group(1)}']"
        return "stop [done]"

    return ScriptedChatModel(default=act, name="scripted-miniwob")


@pytest.mark.slow
def test_twenty_miniwob_episodes_give_the_same_rows_on_ray_and_locally(cluster, tmp_path):
    pytest.importorskip("miniwob")
    from ponder.evals.web import agent_config, run_miniwob_eval

    config = agent_config(horizon=3, candidates=1, temperature=0.0, max_tokens=24, max_obs_chars=2000, judge_samples=1,
                          graded_judge=False, rechecks=1, branching=2, depth=2, value_budget=4, threshold=1.0,
                          trajectories=2, search_rounds=0, value="judge", seed=0)
    common = {"tasks": "click-button,click-link", "episodes": 10, "strategy": "greedy", "model": miniwob_model,
              "config": config, "workers": 2, "show_progress": False}
    local = run_miniwob_eval(out=tmp_path / "local" / "rows.jsonl", **common)
    runner = RayRunner("local", workers=2)
    remote = run_miniwob_eval(out=tmp_path / "ray" / "rows.jsonl", runner=runner, **common)
    assert len(local) == len(remote) == 20
    assert sorted(map(strip, local), key=lambda r: r["id"]) == sorted(map(strip, remote), key=lambda r: r["id"])
    assert sum(r["success"] for r in remote) >= 15 and all(r["error"] is None for r in remote)
    for r in remote:  # the driver wrote every trace
        assert Path(r["trace"]).exists() and Path(r["trace"]).parent == tmp_path / "ray" / "rows-traces"


# ---- a killed driver, restarted ------------------------------------------------------------------

QA_DRIVER = """
import sys
from ponder.evals.qa import run_qa_eval
from ponder.evals.ray_runner import RayRunner

def slow_model():
    from ponder.testing import ScriptedChatModel
    return ScriptedChatModel(default=lambda m: "yellow" if "banana" in m[-1]["content"].lower() else "Steve Jobs",
                             latency=0.4, name="scripted-qa")

runner = RayRunner(sys.argv[1], workers=2) if sys.argv[1] != "none" else None
run_qa_eval(sys.argv[2], "none", llm=slow_model, out=sys.argv[3], show_progress=False, runner=runner)
"""

OPT_DRIVER = """
import sys
from ponder.graphs.cost import CostModel
from ponder.graphs.optimizer.cache import EvalCache
from ponder.graphs.optimizer.evaluate import TaskEvaluator
from ponder.graphs.optimizer.run import Driver, make_method
from ponder.graphs.optimizer.space import LayeredGraphSpace
from ponder.graphs.optimizer.tasks.synthetic import SyntheticTask
from ponder.evals.ray_runner import RayRunner
from ponder.testing import ScriptedChatModel

TASK = SyntheticTask(8, seed=1)

def make(name):
    answers = {it.query.text: it.answer for it in TASK.items}
    if name == "good":
        reply = lambda m: next((a for q, a in answers.items() if q in m[-1]["content"]), "0")
        return Scripted(default=reply, name="good", parameters=200, latency=0.3)
    return Scripted(default="1", name="bad", parameters=100, latency=0.3)

class Scripted(ScriptedChatModel):
    def __reduce__(self):  # travels as the recipe: a worker builds its own
        return (make, (self.name,))

space = LayeredGraphSpace(("good", "bad"), 6, max_width=3, max_depth=2,
                          cost_model=CostModel({"good": 200, "bad": 100}, 90, 8, ("good", "bad")), max_tokens=8)
out = sys.argv[2]
runner = RayRunner(sys.argv[1], workers=2, keep_workers=True) if sys.argv[1] != "none" else None
ev = TaskEvaluator(space, TASK, minibatch=6, models={"good": make("good"), "bad": make("bad")},
                   cache=EvalCache(out + ".cache.jsonl"), runner=runner)
try:
    result = Driver(make_method("random", space, seed=3), ev, max_evals=5, state_path=out + ".state.json",
                    settings={"seed": 3}, progress=False).run()
finally:
    if runner is not None:
        runner.close()
import json
open(out, "w").write(json.dumps([[r["config"], r["accuracy"]] for r in result.history]))
"""


def _drive(script: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(REPO))})


def _kill_when(proc: subprocess.Popen, ready, what: str) -> None:
    deadline = time.monotonic() + 240
    while not ready():
        assert proc.poll() is None, f"the driver ended before {what}: {proc.stdout.read()}"
        assert time.monotonic() < deadline, f"no {what} within 240 s"
        time.sleep(0.1)
    proc.kill()  # SIGKILL: no clean-up in the driver
    proc.wait(timeout=30)


def _questions(tmp_path: Path) -> str:
    records = []
    for i in range(12):
        banana = i % 2 == 0
        records.append({"id": f"q{i}", "question": f"What colour are bananas ({i})?" if banana else f"Who founded Apple ({i})?",
                        "answer": "yellow" if banana else "Steve Jobs", "answer_aliases": [],
                        "paragraphs": [{"title": "Banana", "paragraph_text": "Bananas are yellow.", "is_supporting": True}]})
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return f"musique:{path}"


LOCAL_DRIVER = """
import sys, time
from ponder.evals.runner import Job, run_job
from ponder.evals.ray_runner import RayRunner

def state():
    return {}

def slow(state, unit):
    time.sleep(1)
    return {"value": unit["n"]}

run_job(Job(state, slow), [{"id": str(i), "n": i} for i in range(100)], out=sys.argv[1], key=lambda u: u["id"],
        runner=RayRunner("local", workers=2), show_progress=False)
"""


def test_a_killed_driver_with_its_own_ray_instance_leaves_no_processes(tmp_path):
    psutil = pytest.importorskip("psutil")
    script = tmp_path / "local_driver.py"
    script.write_text(textwrap.dedent(LOCAL_DRIVER))
    out = tmp_path / "rows.jsonl"
    proc = _drive(script, str(out))
    seen: dict[int, object] = {}
    names: set[str] = set()

    def ready():
        for p in psutil.Process(proc.pid).children(recursive=True):
            seen[p.pid] = p
            try:
                names.add(" ".join(p.cmdline()))
            except psutil.Error:
                pass
        return out.exists() and len(read_rows(out)) >= 2

    _kill_when(proc, ready, "2 rows")
    assert any("raylet" in n for n in names)  # Ray ran under the driver
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in seen.values()):
        time.sleep(0.5)
    left = [p for p in seen.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    for p in left:  # clean up before failing
        p.kill()
    assert not left, [p.name() for p in left]


def test_a_qa_evaluation_on_ray_resumes_after_its_driver_is_killed(cluster, tmp_path):
    script = tmp_path / "qa_driver.py"
    script.write_text(textwrap.dedent(QA_DRIVER))
    data, out = _questions(tmp_path), tmp_path / "ray.jsonl"
    first = _drive(script, cluster, data, str(out))
    _kill_when(first, lambda: out.exists() and len(read_rows(out)) >= 3, "3 rows")
    assert 3 <= len(read_rows(out)) < 12
    second = _drive(script, cluster, data, str(out))
    assert second.wait(timeout=300) == 0, second.stdout.read()
    assert ids_in(out) == Counter({f"q{i}": 1 for i in range(12)})
    local = tmp_path / "local.jsonl"
    assert _drive(script, "none", data, str(local)).wait(timeout=300) == 0
    assert sorted(map(strip, read_rows(local)), key=lambda r: r["id"]) == sorted(map(strip, read_rows(out)), key=lambda r: r["id"])


def test_a_small_optimisation_on_ray_resumes_after_its_driver_is_killed(cluster, tmp_path):
    script = tmp_path / "opt_driver.py"
    script.write_text(textwrap.dedent(OPT_DRIVER))
    out = tmp_path / "ray.json"
    cache = Path(str(out) + ".cache.jsonl")
    first = _drive(script, cluster, str(out))
    _kill_when(first, lambda: cache.exists() and len(cache.read_text().splitlines()) >= 8, "8 cached graph runs")
    second = _drive(script, cluster, str(out))
    assert second.wait(timeout=300) == 0, second.stdout.read()
    lines = [json.loads(line) for line in cache.read_text().splitlines() if line.strip()]
    keys = Counter((r["graph"], r["item"]) for r in lines)
    assert keys and max(keys.values()) == 1  # no graph ran twice on one item
    local = tmp_path / "local.json"
    assert _drive(script, "none", str(local)).wait(timeout=300) == 0
    assert json.loads(out.read_text()) == json.loads(local.read_text())


@pytest.mark.parametrize("command", ["web", "miniwob", "qa"])
def test_every_eval_command_takes_the_ray_options(command, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import ponder.evals.qa as qa_eval
    import ponder.evals.web as web_eval
    from ponder.cli.main import app

    seen = {}
    target = (qa_eval, "run_qa_eval") if command == "qa" else (web_eval, f"run_{command}_eval")
    monkeypatch.setattr(*target, lambda **kw: seen.update(kw) or [])
    if command == "qa":
        import ponder.cli.evals as cli_evals

        monkeypatch.setattr(cli_evals, "_summary", lambda rows: None)
    args = ["eval", command, "--out", str(tmp_path / "r.jsonl"), "--ray", "10.1.2.3:6379", "--unit-timeout", "90",
            "--workers", "3", "--worker-gpus", "0.5"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    runner = seen["runner"]
    assert isinstance(runner, RayRunner) and runner.address == "10.1.2.3:6379" and runner.unit_timeout == 90
    assert runner.workers == 3 and runner.num_gpus == 0.5


def test_unit_timeout_without_ray_is_a_clean_cli_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "ponder.cli.main", "optimize", "--budget", "4", "--pool", "smollm2-135m",
                        "--unit-timeout", "30", "--out", str(tmp_path / "b.json")],
                       capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 1 and "Traceback" not in r.stderr and "--unit-timeout needs --ray" in r.stderr, r.stderr


def test_a_bare_ray_flag_means_ray_address_or_local(monkeypatch):
    from ponder.cli.evals import expand_bare_ray

    assert expand_bare_ray(["eval", "qa", "--ray", "--limit", "1"]) == ["eval", "qa", "--ray", "default", "--limit", "1"]
    assert expand_bare_ray(["optimize", "--ray"]) == ["optimize", "--ray", "default"]
    assert expand_bare_ray(["eval", "qa", "--ray", "auto"]) == ["eval", "qa", "--ray", "auto"]
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert make_runner("default").address == "local"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    assert make_runner("default").address == "10.0.0.5:6379"


def test_the_ray_bench_prints_its_metrics(tmp_path):
    r = subprocess.run([sys.executable, "-m", "ponder.cli.main", "bench", "ray", "--quick", "--json"],
                       capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)  # stdout holds only the JSON
    m = result["metrics"]
    assert result["bench"] == "ray" and m["rows_exactly_once"] == 1 and m["worker_deaths"] == 1
    assert m["dispatch_overhead_ms_per_unit"] >= 0 and m["scaling_2_workers"] > 0


def test_a_loaded_model_that_cannot_travel_is_named_before_anything_starts(tmp_path):
    from ponder.environments.toy import TOY_POLICY, TOY_STATUSES, ToyEnv, price_task, scripted_web_model
    from ponder.evals.web import EvalItem, run_eval

    model = scripted_web_model(TOY_POLICY, TOY_STATUSES)  # holds locks: it cannot be pickled
    with pytest.raises(ConfigError, match="the web eval job cannot be sent to Ray workers") as e:
        run_eval([EvalItem("toy-price", price_task())], kind="web", env_factory=ToyEnv, model=model,
                 out=tmp_path / "r.jsonl", runner=RayRunner("local"), show_progress=False)
    assert "registry name" in e.value.hint and not read_rows(tmp_path / "r.jsonl")
