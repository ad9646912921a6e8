"""Every built-in task's reference solution scores 1.0 in the real browser, and doing nothing
(``stop []`` right after reset) scores 0. One server and one browser serve all tasks."""

from __future__ import annotations

import pytest

from ponder.environments.tasks import builtin_tasks

TASKS = builtin_tasks()


@pytest.fixture(scope="module")
def env():
    from ponder.environments.webenv import WebEnv

    e = WebEnv(seed=0)
    yield e
    e.close()


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS, ids=[t.task_id for t in TASKS])
def test_reference_solution_scores_one_and_doing_nothing_scores_zero(env, task):
    env.reset(task)
    start = env.snapshot()
    # the do-nothing episode: answer nothing, change nothing
    env.step("stop []")
    idle = env.evaluate()
    assert idle.value == 0.0, idle.details
    env.restore(start)
    errors = []
    for action in task.reference:
        result = env.step(action)
        if result.observation.last_action_error:
            errors.append(f"{action}: {result.observation.last_action_error}")
    assert not errors, errors
    assert env.done, "the reference solution ends with stop"
    score = env.evaluate()
    assert score.value == 1.0, score.details
