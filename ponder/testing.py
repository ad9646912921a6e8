"""Test doubles that ship with ponder so users can unit-test their own programs.

The scripted model is a backend like the others (:mod:`ponder.models.scripted`); this module
keeps the name users' tests import it by.
"""

from ponder.models.scripted import Reply, ScriptedChatModel

__all__ = ["Reply", "ScriptedChatModel"]
