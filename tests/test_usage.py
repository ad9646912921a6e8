import threading

import pytest

from ponder.errors import BudgetExceeded, ConfigError
from ponder.models.scripted import ScriptedChatModel
from ponder.usage import Budget, Usage, current, model_call, spend


def test_charges_roll_up_through_scopes():
    run = Usage()
    node = run.scope("node")
    sub = node.scope("sub")
    sub.charge(calls=1, prompt_tokens=10, completion_tokens=5, retrievals=2)
    node.charge(env_steps=3)
    assert (sub.calls, sub.tokens) == (1, 15)
    assert (node.calls, node.tokens, node.env_steps) == (1, 15, 3)
    assert run.to_dict()["tokens"] == 15 and run.retrievals == 2 and run.env_steps == 3
    assert sub.name == "run/node/sub"


def test_child_budget_and_parent_budget_are_both_enforced():
    run = Usage(Budget(calls=3))
    node = run.scope("node", Budget(tokens=100))
    node.check(calls=1, prompt_tokens=60, completion_tokens=40)  # exactly at the limit: fine
    node.charge(calls=1, prompt_tokens=60, completion_tokens=40)
    with pytest.raises(BudgetExceeded) as e:
        node.check(calls=1, prompt_tokens=1)
    assert e.value.field == "tokens" and e.value.scope == "run/node"
    other = run.scope("other")
    other.charge(calls=2)
    with pytest.raises(BudgetExceeded) as e:
        other.check(calls=1)
    assert e.value.field == "calls" and e.value.scope == "run"


def test_time_limits_refuse_once_spent():
    usage = Usage(Budget(wall_seconds=1.0))
    usage.check(calls=1)
    usage.charge(wall_seconds=1.5)
    with pytest.raises(BudgetExceeded):
        usage.check(calls=1)


def test_remaining_is_the_tightest_headroom():
    run = Usage(Budget(calls=10))
    node = run.scope("n", Budget(calls=4))
    node.charge(calls=3)
    assert node.remaining("calls") == 1
    assert run.remaining("calls") == 7
    assert Usage().remaining("calls") is None


def test_budget_parse():
    b = Budget.parse("calls=20, tokens=5000,wall-seconds=2.5")
    assert b.calls == 20 and b.tokens == 5000 and b.wall_seconds == 2.5
    assert Budget.parse("") is None
    with pytest.raises(ConfigError, match="bad budget entry"):
        Budget.parse("cals=3")
    with pytest.raises(ConfigError, match="not a number"):
        Budget.parse("calls=many")


def test_unknown_field_is_an_error():
    with pytest.raises(KeyError):
        Usage().check(gpus=1)


def test_active_ledger_is_charged_by_models():
    model = ScriptedChatModel(default="a b c")
    usage = Usage()
    assert current() is None
    with usage.activate():
        assert current() is usage
        model.generate([{"role": "user", "content": "x y"}], n=2)
    assert current() is None
    assert usage.calls == 1 and usage.completion_tokens == 6 and usage.prompt_tokens == 4


def test_budget_blocks_a_model_call_before_it_happens():
    model = ScriptedChatModel(default="a b c")
    usage = Usage(Budget(calls=1))
    model.generate([{"role": "user", "content": "q"}], usage=usage)
    with pytest.raises(BudgetExceeded):
        model.generate([{"role": "user", "content": "q"}], usage=usage)
    assert len(model.calls) == 1


def test_concurrent_charges_are_not_lost():
    run = Usage()
    scopes = [run.scope(f"w{i}") for i in range(4)]

    def work(scope):
        for _ in range(1000):
            scope.charge(calls=1, prompt_tokens=2)

    threads = [threading.Thread(target=work, args=(s,)) for s in scopes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert run.calls == 4000 and run.prompt_tokens == 8000


def test_spend_checks_before_and_charges_after():
    usage = Usage(Budget(retrievals=2))
    ran = []
    with spend(usage, retrievals=1):
        ran.append(1)
    assert usage.retrievals == 1
    with pytest.raises(BudgetExceeded), spend(usage, retrievals=2):
        ran.append(2)  # refused before the block: 1 + 2 > 2
    assert ran == [1] and usage.retrievals == 1


def test_spend_charges_the_actual_amounts_and_the_time():
    usage = Usage(Budget(completion_tokens=100))
    worst = model_call(10, calls=1, prompt_tokens=5, completion_tokens=100)
    assert worst["flops"] == 2.0 * 10 * 105
    with spend(usage, timed="seconds", **worst) as spending:
        spending.actual(**model_call(10, calls=1, prompt_tokens=5, completion_tokens=7))
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens, usage.flops) == (1, 5, 7, 2.0 * 10 * 12)
    assert usage.seconds > 0


def test_spend_charges_nothing_when_the_work_fails_and_allows_no_ledger():
    usage = Usage()
    with pytest.raises(RuntimeError), spend(usage, env_steps=1):
        raise RuntimeError("the step crashed")
    assert usage.env_steps == 0
    with spend(None, env_steps=1) as spending:
        spending.actual(env_steps=3)  # no ledger: nothing to check or charge
