"""Choosing a runner backend from the CLI's options: the one place that knows both backends
(:class:`~ponder.evals.runner.LocalRunner` and :class:`~ponder.evals.ray_runner.RayRunner`), so
neither backend module imports the other."""

from __future__ import annotations

import os

from ponder.errors import ConfigError
from ponder.evals.runner import LocalRunner, Runner


def make_runner(ray: str | None = None, *, workers: int = 1, unit_timeout: float | None = None,
                num_gpus: float | None = None) -> Runner:
    """The backend the CLI's ``--ray [ADDRESS]``, ``--workers``, ``--unit-timeout`` and
    ``--worker-gpus`` ask for: local threads when ``ray`` is empty, else Ray at ``ray``
    (``local``, ``auto``, a cluster address, or ``default``: ``$RAY_ADDRESS`` or local)."""
    if unit_timeout is not None and unit_timeout <= 0:
        raise ConfigError(f"--unit-timeout must be positive, got {unit_timeout:g}")
    if not ray:
        if unit_timeout is not None:
            raise ConfigError("--unit-timeout needs --ray: a hung unit is stopped by killing its worker process, "
                              "and the local backend's workers are threads", hint="add --ray local")
        if num_gpus:
            raise ConfigError("--worker-gpus needs --ray", hint="add --ray local or --ray ADDRESS")
        return LocalRunner(workers)
    from ponder.evals.ray_runner import RayRunner

    if ray == "default":  # a bare --ray
        ray = os.environ.get("RAY_ADDRESS") or "local"
    return RayRunner(ray, workers=workers, unit_timeout=unit_timeout, num_gpus=num_gpus)
