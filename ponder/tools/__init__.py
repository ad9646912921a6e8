"""Tools agents act through: the browser (Playwright driving Chromium), WebArena's action space
and its parser, and the accessibility-tree observation."""

from ponder.tools.actions import ACTION_NAMES, Action, ActionError, ElementRef, parse_action

__all__ = ["ACTION_NAMES", "Action", "ActionError", "ElementRef", "parse_action"]
