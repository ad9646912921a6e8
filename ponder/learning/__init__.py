"""Learning from the environments' own rewards (issue 12).

The loop: :func:`~ponder.learning.collect.collect_miniwob` (and, on the local sites,
:func:`~ponder.learning.collect.collect_web` and the reference-solution demonstrations of
:func:`~ponder.learning.collect.collect_demos`) runs episodes through the eval runner and records
every visited state with its reward; :func:`~ponder.learning.dataset.build_dataset`
turns the records into JSONL shards with Monte Carlo value targets and a split;
:func:`~ponder.learning.train_value.train_value` fits a verifier that
:class:`~ponder.learning.value_model.LearnedValue` serves behind the
:class:`~ponder.agents.value.ValueFunction` protocol (``--value learned:DIR``);
:func:`~ponder.learning.train_actor.train_actor` clones successful trajectories into an actor
loadable as ``hf:DIR``; :func:`~ponder.learning.evaluate.evaluate_miniwob` evaluates either on
held-out episodes only. See ``docs/learning.md``.
"""
