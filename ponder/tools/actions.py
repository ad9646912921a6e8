"""WebArena's action space and a lenient parser for how language models actually write actions.

The canonical forms (WebArena's, plus ``select``)::

    click [12]                  hover [12]                 press [Control+a]
    type [12] [usb cable] [1]   (1 = press Enter after; WebArena's default when omitted)
    scroll [down]               goto [http://...]          go_back / go_forward
    new_tab                     tab_focus [0]              close_tab
    select [12] [Price: low to high]                       stop [the answer]

Wherever an element id goes, an element reference ``role 'accessible name'`` may stand instead
(``click [link 'Electronics']``); it is resolved against the current page's tree.

:func:`parse_action` finds the action in a model's reply: inside a code fence, after a sentence
("In summary, the next action I will perform is ```click [12]```"), with extra spaces, quotes,
upper case, ``Action:`` prefixes, ``scroll [direction=down]`` or call syntax ``click(12)``.
Anything it cannot read raises :class:`ActionError`, which environments turn into an error
observation rather than an exception.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from ponder.errors import PonderError

#: Every action name, canonical spelling.
ACTION_NAMES = (
    "click",
    "type",
    "hover",
    "press",
    "scroll",
    "goto",
    "go_back",
    "go_forward",
    "new_tab",
    "tab_focus",
    "close_tab",
    "select",
    "stop",
)
#: Actions that take an element.
ELEMENT_ACTIONS = ("click", "type", "hover", "select")
_NO_ARGS = ("go_back", "go_forward", "new_tab", "close_tab")

_ALIASES = {
    # Spellings models use for the same actions. Plain-English phrases ("go back") are left out
    # on purpose: they appear in reasoning far more often than as the action.
    "goback": "go_back",
    "goforward": "go_forward",
    "newtab": "new_tab",
    "tabfocus": "tab_focus",
    "switch_tab": "tab_focus",
    "closetab": "close_tab",
    "go_to": "goto",
    "fill": "type",
    "select_option": "select",
}

# Longest alternatives first so "go_back" wins over "go".
_NAME_ALTERNATIVES = sorted(set(ACTION_NAMES) | set(_ALIASES), key=len, reverse=True)
_NAME_RE = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(n) for n in _NAME_ALTERNATIVES) + r")(?![\w-])",
    re.IGNORECASE,
)
_FENCE_RE = re.compile(r"```+[ \t]*(?:[a-zA-Z]+[ \t]*\n)?(.*?)```+", re.DOTALL)
_INLINE_CODE_RE = re.compile(r"`([^`\n]+)`")
_REF_RE = re.compile(r"""^([A-Za-z][\w-]*)\s+(['"])(.*)\2$""", re.DOTALL)
_QUOTED_RE = re.compile(r"""^(['"])(.*)\1$""", re.DOTALL)
_KEY_NAMES = {
    "ctrl": "Control",
    "control": "Control",
    "cmd": "Meta",
    "command": "Meta",
    "meta": "Meta",
    "alt": "Alt",
    "option": "Alt",
    "shift": "Shift",
    "enter": "Enter",
    "return": "Enter",
    "esc": "Escape",
    "escape": "Escape",
    "tab": "Tab",
    "space": " ",
    "backspace": "Backspace",
    "delete": "Delete",
    "del": "Delete",
    "up": "ArrowUp",
    "down": "ArrowDown",
    "left": "ArrowLeft",
    "right": "ArrowRight",
    "arrowup": "ArrowUp",
    "arrowdown": "ArrowDown",
    "arrowleft": "ArrowLeft",
    "arrowright": "ArrowRight",
    "pageup": "PageUp",
    "pagedown": "PageDown",
    "home": "Home",
    "end": "End",
}


class ActionError(PonderError):
    """An action string that cannot be parsed or executed; environments report it in
    ``Observation.last_action_error`` instead of raising."""


@dataclass(frozen=True)
class ElementRef:
    """An element named by role and accessible name instead of an id (``link 'Home'``).
    ``role`` is empty when only a quoted name was given."""

    role: str
    name: str

    def __str__(self) -> str:
        return f"{self.role} '{self.name}'" if self.role else f"'{self.name}'"


@dataclass(frozen=True)
class Action:
    """One parsed action.

    Attributes:
        name: one of :data:`ACTION_NAMES`.
        target: the element: an integer id or an :class:`ElementRef` (element actions only).
        text: typed text, option label, key combination, URL, scroll direction or answer.
        enter: ``type`` only: press Enter after typing.
        index: ``tab_focus`` only: the 0-based tab index.
    """

    name: str
    target: int | ElementRef | None = None
    text: str | None = None
    enter: bool = False
    index: int | None = None

    def __str__(self) -> str:
        t = f"[{self.target}]" if self.target is not None else ""
        match self.name:
            case "click" | "hover":
                return f"{self.name} {t}"
            case "type":
                return f"type {t} [{self.text}] [{int(self.enter)}]"
            case "select":
                return f"select {t} [{self.text}]"
            case "press" | "scroll" | "goto" | "stop":
                return f"{self.name} [{self.text or ''}]"
            case "tab_focus":
                return f"tab_focus [{self.index}]"
        return self.name

    def to_dict(self) -> dict:
        d = asdict(self)
        if isinstance(self.target, ElementRef):
            d["target"] = str(self.target)
        return {k: v for k, v in d.items() if v not in (None, False) or k == "name"}


# ---- parsing ------------------------------------------------------------------------------------


def parse_action(text: str) -> Action:
    """Find and parse the action in ``text`` (a model's whole reply is fine).

    Raises:
        ActionError: no readable action; the message says what was wrong and shows the forms.
    """
    if text is None or not str(text).strip():
        raise ActionError("empty action", hint=_HINT)
    text = str(text).strip()
    candidates: list[str] = []
    fenced = [m.strip() for m in _FENCE_RE.findall(text) if m.strip()]
    candidates += reversed(fenced)  # the last fenced block is the answer; earlier ones are examples
    inline = [m.strip() for m in _INLINE_CODE_RE.findall(_FENCE_RE.sub(" ", text)) if m.strip()]
    candidates += reversed(inline)
    candidates.append(text)
    first_error: ActionError | None = None
    for cand in candidates:
        try:
            return _parse_candidate(cand)
        except ActionError as e:
            first_error = first_error or e
    assert first_error is not None
    raise first_error


_HINT = (
    "write one action such as `click [12]`, `type [12] [text] [1]`, `scroll [down]`, `goto [url]`, "
    "`go_back` or `stop [answer]`"
)


def _parse_candidate(text: str) -> Action:
    # An "Action:" / "next action ... is" marker: look after the last one.
    marker = None
    for m in re.finditer(r"(?:next action[^:\n]*?\bis\b|action\s*:)", text, re.IGNORECASE):
        marker = m
    if marker is not None:
        tail = text[marker.end():]
        if _NAME_RE.search(tail):
            text = tail
    matches = list(_NAME_RE.finditer(text))
    if not matches:
        raise ActionError(f"no action found in {_clip(text)!r}", hint=_HINT)
    # An action at the start of the text (after bullets/quotes) is taken first; otherwise the
    # last parseable occurrence, since models reason first and act last.
    starts = [m for m in matches if not text[: m.start()].strip(" \t\n*->#:'\"`.")]
    order = starts + [m for m in reversed(matches) if m not in starts]
    first_error: ActionError | None = None
    for m in order:
        try:
            return _parse_at(m, text)
        except ActionError as e:
            first_error = first_error or e
    assert first_error is not None
    raise first_error


def _canonical_name(raw: str) -> str:
    key = raw.lower().replace("-", "_")
    key = re.sub(r"\s+", " ", key)
    if key in ACTION_NAMES:
        return key
    return _ALIASES.get(key, key)


def _parse_at(m: re.Match, text: str) -> Action:
    name = _canonical_name(m.group(1))
    rest = text[m.end():]
    args, bracketed = _split_args(rest, name)
    if name in _NO_ARGS:
        # Trailing prose after a bare name is fine ("go_back to the results").
        return Action(name)
    if not bracketed and name in ELEMENT_ACTIONS and not args:
        raise ActionError(f"{name} needs an element, like `{name} [12]`", hint=_HINT)
    return _build(name, args)


def _split_args(rest: str, name: str) -> tuple[list[str], bool]:
    """The bracketed arguments right after the name, or call-style ``(a, b)``, or the bare rest
    of the line. Returns (args, whether brackets/parens were used)."""
    s = rest.lstrip(" \t:")
    if s.startswith("["):
        return _bracket_groups(s), True
    if s.startswith("("):
        close = _matching(s, 0, "(", ")")
        inner = s[1:close] if close > 0 else s[1:]
        return _call_args(inner), True
    line = s.split("\n", 1)[0].strip().rstrip("`").strip()
    if name in _NO_ARGS:
        return [], False
    if not line:
        return [], False
    if name in ("stop", "press", "scroll"):
        return [line], False
    if name == "goto":
        return line.split()[:1], False
    if name == "tab_focus":
        return line.split()[:1], False
    # click 12 / type 12 hello / select 12 Red
    head, _, tail = line.partition(" ")
    return ([head] + ([tail] if tail else [])), False


def _matching(s: str, start: int, open_: str, close: str) -> int:
    depth = 0
    quote = None
    for i in range(start, len(s)):
        c = s[i]
        if quote:
            if c == quote:
                quote = None
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i
    return -1


def _bracket_groups(s: str) -> list[str]:
    """``[a] [b [c]] [1] trailing`` -> ["a", "b [c]", "1"]. Nested brackets stay inside a
    group; an unclosed last group takes the rest of the line."""
    groups: list[str] = []
    i = 0
    while i < len(s) and s[i] == "[":
        depth = 0
        j = i
        end = -1
        while j < len(s):
            if s[j] == "[":
                depth += 1
            elif s[j] == "]":
                depth -= 1
                if depth == 0:
                    end = j
                    break
            j += 1
        if end < 0:
            groups.append(s[i + 1:].split("\n", 1)[0].rstrip("`").strip())
            break
        groups.append(s[i + 1: end])
        i = end + 1
        while i < len(s) and s[i] in " \t":
            i += 1
    return groups


def _call_args(inner: str) -> list[str]:
    """``12, "hello, world", 1`` -> ["12", "hello, world", "1"] (quotes respected)."""
    out: list[str] = []
    cur = ""
    quote = None
    for c in inner:
        if quote:
            cur += c
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
            cur += c
        elif c == ",":
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        out.append(cur.strip())
    # keyword arguments: element_id=12 -> 12
    return [re.sub(r"^\w+\s*=\s*", "", a) for a in out]


def _unquote(s: str) -> str:
    s = s.strip()
    m = _QUOTED_RE.match(s)
    return m.group(2) if m else s


def _parse_target(raw: str, name: str) -> int | ElementRef:
    s = raw.strip()
    s = re.sub(r"^(?:id|element|element_id|bid)\s*[=:]\s*", "", s, flags=re.IGNORECASE)
    s = s.strip()
    uq = _unquote(s)
    if re.fullmatch(r"\d+", uq):
        return int(uq)
    ref = _REF_RE.match(s)
    if ref:
        return ElementRef(ref.group(1), ref.group(3))
    q = _QUOTED_RE.match(s)
    if q and q.group(2).strip():
        return ElementRef("", q.group(2))
    raise ActionError(
        f"{name}: {raw.strip()!r} is not an element id",
        hint="use the number in brackets from the observation, like [12], or a reference like [link 'Home']",
    )


def _flag(raw: str) -> bool:
    s = _unquote(raw).strip().lower()
    s = re.sub(r"^press_enter_after\s*=\s*", "", s)
    if s in ("1", "true", "yes", "enter"):
        return True
    if s in ("0", "false", "no", ""):
        return False
    raise ActionError(f"type: the last argument must be 0 or 1, got {raw!r}", hint=_HINT)


def _build(name: str, args: list[str]) -> Action:
    if name in ("click", "hover"):
        if not args:
            raise ActionError(f"{name} needs an element, like `{name} [12]`", hint=_HINT)
        return Action(name, target=_parse_target(args[0], name))
    if name == "type":
        if len(args) < 2:
            raise ActionError("type needs an element and text, like `type [12] [hello] [1]`", hint=_HINT)
        target = _parse_target(args[0], name)
        enter = True  # WebArena: Enter is pressed unless press_enter_after is 0
        text_parts = args[1:]
        if len(text_parts) >= 2 and re.fullmatch(r"\s*(?:press_enter_after\s*=\s*)?['\"]?[01]['\"]?\s*", text_parts[-1]):
            enter = _flag(text_parts[-1])
            text_parts = text_parts[:-1]
        text = "] [".join(text_parts)  # a text that itself held "] [" stays whole
        return Action("type", target=target, text=_unquote(text), enter=enter)
    if name == "select":
        if len(args) < 2:
            raise ActionError("select needs an element and an option, like `select [12] [Red]`", hint=_HINT)
        return Action("select", target=_parse_target(args[0], name), text=_unquote("] [".join(args[1:])))
    if name == "press":
        if not args or not _unquote(args[0]).strip():
            raise ActionError("press needs keys, like `press [Enter]` or `press [Control+a]`", hint=_HINT)
        return Action("press", text=normalize_keys(_unquote(args[0])))
    if name == "scroll":
        raw = _unquote(args[0]).strip().lower() if args else ""
        raw = re.sub(r"^direction\s*=\s*", "", raw).strip("'\" ")
        raw = raw.split()[0] if raw else ""
        if raw not in ("up", "down"):
            raise ActionError(f"scroll needs [up] or [down], got {raw or 'nothing'!r}", hint=_HINT)
        return Action("scroll", text=raw)
    if name == "goto":
        url = _unquote(args[0]).strip() if args else ""
        url = re.sub(r"^url\s*=\s*", "", url).strip("'\" <>")
        if not url:
            raise ActionError("goto needs a URL, like `goto [http://...]`", hint=_HINT)
        return Action("goto", text=url)
    if name == "tab_focus":
        raw = _unquote(args[0]).strip() if args else ""
        raw = re.sub(r"^(?:page_number|index|tab)\s*=\s*", "", raw)
        if not re.fullmatch(r"\d+", raw):
            raise ActionError(f"tab_focus needs a tab number, like `tab_focus [0]`, got {raw or 'nothing'!r}", hint=_HINT)
        return Action("tab_focus", index=int(raw))
    if name == "stop":
        answer = _unquote("] [".join(args)) if args else ""
        answer = re.sub(r"^answer\s*=\s*", "", answer)
        return Action("stop", text=_unquote(answer).strip())
    raise ActionError(f"unknown action {name!r}", hint=_HINT)


def normalize_keys(keys: str) -> str:
    """``ctrl+a`` -> ``Control+a``; ``enter`` -> ``Enter``; ``Meta+Shift+K`` unchanged."""
    parts = [p.strip() for p in re.split(r"\s*\+\s*", keys.strip()) if p.strip()]
    out = []
    for p in parts:
        out.append(_KEY_NAMES.get(p.lower(), p if len(p) == 1 else p[:1].upper() + p[1:]))
    return "+".join(out)


def _clip(s: str, n: int = 80) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"
