"""The page as text: Chromium's accessibility tree (CDP ``Accessibility.getFullAXTree``) rendered
one element a line with small integer ids, the way WebArena shows it to agents::

    [1] RootWebArea 'Shop - Electronics' focused
    \t[2] link 'Home'
    \t[3] searchbox 'Search' value='usb'
    \t[4] button 'Search'
    \t[5] heading 'Electronics'
    \t[6] StaticText 'USB cable, $9.99'

Compaction (a small model's context is short): ignored and unnamed structural nodes (``generic``,
``none``, ...) are dropped and their children lifted; a node's text children are folded into its
line when they only repeat its name; adjacent text runs merge; inline text boxes and list
markers are skipped. Ids are assigned in document order, so the same page gives the same text.
Past ``max_chars`` the text is cut at a line boundary with a note saying how much was left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Roles that carry no meaning of their own when unnamed: their children are lifted.
_TRANSPARENT = {
    "generic",
    "none",
    "presentation",
    "group",
    "Section",
    "LayoutTable",
    "LayoutTableRow",
    "LayoutTableCell",
    "div",
    "paragraph",
    "Div",
    "Pre",
    "strong",
    "emphasis",
    "Abbr",
    "time",
    "Mark",
    "subscript",
    "superscript",
    "DescriptionList",
    "MenuListPopup",
    "Ruby",
    "Canvas",
    "sectionheader",
    "sectionfooter",
    "form",
}
# Never shown.
_SKIP = {"InlineTextBox", "LineBreak", "ListMarker"}
# Text-like roles: merged with neighbours, folded into a parent that says the same.
_TEXT = {"StaticText", "text"}
# Roles whose current value is worth showing.
_VALUE_ROLES = {"textbox", "searchbox", "combobox", "spinbutton", "slider", "textarea", "TextField", "ComboBox"}
# Boolean/enumerated properties shown when set.
_SHOWN_PROPS = ("clickable", "focused", "checked", "pressed", "selected", "expanded", "disabled", "required", "readonly",
                "multiline")
_MAX_NAME = 180
# Unnamed elements of these roles show their CSS class (an icon's only clue: class='trash').
_HINTED = {"image", "img", "button", "link", "generic", "checkbox", "radio", "textbox", "listitem", "cell"}


@dataclass
class AXNode:
    """One rendered line of the tree."""

    id: int
    role: str
    name: str
    depth: int
    backend_id: int | None
    value: str | None = None
    props: dict = field(default_factory=dict)
    bottom: float | None = None  # page y of the element's bottom edge, when laid out

    def line(self) -> str:
        parts = [f"[{self.id}] {self.role}"]
        if self.name:
            parts.append(_quote(self.name))
        if self.value is not None and self.value != "":
            parts.append(f"value={_quote(self.value)}")
        if not self.name and self.props.get("class"):
            parts.append(f"class={_quote(self.props['class'])}")  # the only clue to an unnamed icon
        for key in _SHOWN_PROPS:
            v = self.props.get(key)
            if v in (None, False, "false", ""):
                continue
            if key == "focused" and self.role == "RootWebArea":
                continue
            if key == "selected" and self.role == "option" and v is True:
                parts.append("selected")
                continue
            parts.append(key if v is True or v == "true" else f"{key}={v}")
        return "\t" * self.depth + " ".join(parts)


@dataclass
class AXTree:
    """The rendered tree of one page: its lines by id (to resolve actions) and its text."""

    nodes: list[AXNode]
    text: str
    truncated_lines: int = 0

    def __post_init__(self) -> None:
        self.by_id = {n.id: n for n in self.nodes}

    def find(self, role: str, name: str) -> list[AXNode]:
        """Elements matching ``role 'name'``: exact matches first, then case- and space-insensitive,
        then elements whose name contains ``name``. An empty role matches any role. Matches come
        in document order."""
        role_l = role.lower()
        cands = [n for n in self.nodes if not role_l or n.role.lower() == role_l]
        exact = [n for n in cands if n.name == name]
        if exact:
            return exact
        key = _norm(name)
        loose = [n for n in cands if _norm(n.name) == key]
        if loose:
            return loose
        return [n for n in cands if key and key in _norm(n.name)]


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def _quote(s: str) -> str:
    s = " ".join(s.split())
    if len(s) > _MAX_NAME:
        s = s[: _MAX_NAME - 1] + "…"
    return "'" + s + "'"


def render_ax_tree(
    ax_nodes: list[dict],
    *,
    max_chars: int = 6000,
    styles: dict[int, tuple] | None = None,
    viewport_top: float = 0.0,
) -> AXTree:
    """Render CDP ``Accessibility.getFullAXTree`` nodes as text with integer ids.

    Args:
        ax_nodes: the ``nodes`` list of the CDP reply (the first is the root).
        max_chars: cut the text at a line boundary past this many characters (0: no limit).
        styles: backend node id -> (CSS ``display``, ``cursor``) from :func:`layout_styles`;
            with it, inline text folds into one line, block boundaries stay, and text with a
            pointer cursor (a span with a click handler) becomes its own ``clickable`` line.
        viewport_top: the page's scroll offset. A page too long for ``max_chars`` is shown
            from the first element that reaches into the viewport, so ``scroll`` reveals more.
    """
    if not ax_nodes:
        return AXTree([], "")
    by_id = {n["nodeId"]: n for n in ax_nodes}
    children_of: dict[str, list[str]] = {}
    for n in ax_nodes:
        children_of[n["nodeId"]] = [c for c in n.get("childIds", []) if c in by_id]
    referenced = {c for kids in children_of.values() for c in kids}
    roots = [n["nodeId"] for n in ax_nodes if n["nodeId"] not in referenced] or [ax_nodes[0]["nodeId"]]

    out: list[AXNode] = []

    def role_of(n: dict) -> str:
        return (n.get("role") or {}).get("value") or ""

    def name_of(n: dict) -> str:
        return str((n.get("name") or {}).get("value") or "").strip()

    def text_of(nid: str) -> str:
        """All text under a node (for folding text children into their parent)."""
        n = by_id[nid]
        r = role_of(n)
        if r in _TEXT:
            return name_of(n)
        if r in _SKIP:
            return ""
        text = ""
        for t in (text_of(c) for c in children_of[nid]):
            text = _join(text, t) if t else text
        return text

    def style(n: dict) -> tuple:
        return styles.get(n.get("backendDOMNodeId"), ("", "")) if styles else ("", "")

    def pointer(n: dict) -> bool:
        return style(n)[1] == "pointer"

    def only_text_below(nid: str, inline_only: bool = False, in_pointer: bool = False) -> bool:
        """Only text (through unnamed wrappers) below ``nid``. With ``inline_only``, the
        wrappers must also be inline and not separately clickable, so that folding the text
        into one line loses no block boundary and no click target."""
        for c in children_of[nid]:
            cn = by_id[c]
            r = role_of(cn)
            if r in _SKIP or r in _TEXT:
                continue
            if cn.get("ignored") or (r in _TRANSPARENT and not name_of(cn)):
                if inline_only:
                    d = style(cn)[0]
                    if d and not d.startswith("inline") and d != "contents":
                        return False
                    if pointer(cn) and not in_pointer:
                        return False
                if not only_text_below(c, inline_only, in_pointer):
                    return False
                continue
            return False
        return True

    def visit(nid: str, depth: int, parent: str | None = None) -> None:
        n = by_id[nid]
        role = role_of(n)
        kids = children_of[nid]
        if role in _SKIP:
            return
        name = name_of(n)
        if n.get("ignored") or (role in _TRANSPARENT and not name and role != "RootWebArea"):
            if kids and not n.get("ignored") and only_text_below(nid, True, pointer(n)):
                # A block of text (a div or paragraph with inline markup): one line, acting on
                # it acts on the block (a span with a click handler, say).
                text = text_of(nid)
                if text:
                    props = {"clickable": True} if pointer(n) else {}
                    out.append(AXNode(len(out) + 1, "StaticText", text, depth, n.get("backendDOMNodeId"), None, props))
                return
            for c in kids:
                visit(c, depth, parent)
            return
        if role in _TEXT:
            if not name:
                return
            # merge with a directly preceding text run of the same parent
            prev = out[-1] if out else None
            props = {"clickable": True} if pointer(n) else {}
            if (prev is not None and prev.role == "StaticText" and getattr(prev, "_parent", None) == parent
                    and prev.props == props):
                prev.name = _join(prev.name, name)
                return
            node = AXNode(len(out) + 1, "StaticText", name, depth, n.get("backendDOMNodeId"), None, props)
            node._parent = parent  # type: ignore[attr-defined]
            out.append(node)
            return
        props = {p["name"]: (p.get("value") or {}).get("value") for p in n.get("properties", [])}
        value = None
        if role in _VALUE_ROLES and n.get("value") is not None:
            value = str(n["value"].get("value", ""))
        if not name and role in _HINTED:
            hint = style(n)[3] if len(style(n)) > 3 else ""
            if hint:
                props["class"] = hint
            if pointer(n):
                props["clickable"] = True
        node = AXNode(len(out) + 1, role, name, depth, n.get("backendDOMNodeId"), value, props)
        out.append(node)
        fold = False
        if kids and only_text_below(nid):
            below = " ".join(text_of(c) for c in kids).strip()
            if not below or _norm(below) == _norm(name) or _norm(below) in _norm(name):
                fold = True
            elif not name and role not in ("RootWebArea",) and len(below) <= _MAX_NAME:
                node.name = below
                fold = True
        if role in ("textbox", "searchbox", "combobox", "spinbutton") and not kids_have_options(nid):
            fold = True  # an input's inner text is its value, shown already
        if not fold:
            for c in kids:
                visit(c, depth + 1, nid)

    def kids_have_options(nid: str) -> bool:
        stack = list(children_of[nid])
        while stack:
            c = stack.pop()
            if role_of(by_id[c]) in ("option", "listbox", "MenuListPopup"):
                return True
            stack.extend(children_of[c])
        return False

    for r in roots:
        visit(r, 0)
    if styles:
        for node in out:
            st = styles.get(node.backend_id) if node.backend_id is not None else None
            if st is not None and len(st) > 2:
                node.bottom = st[2]
    return _finish(out, max_chars, viewport_top)


def layout_styles(snapshot: dict) -> dict[int, tuple]:
    """Backend node id -> (display, cursor, bottom y, class) from a CDP
    ``DOMSnapshot.captureSnapshot`` reply taken with ``computedStyles=["display", "cursor"]``
    (main document only)."""
    strings = snapshot.get("strings", [])
    docs = snapshot.get("documents") or []
    if not docs:
        return {}
    doc = docs[0]
    backend = doc["nodes"].get("backendNodeId", [])
    layout = doc.get("layout", {})
    out: dict[int, tuple] = {}
    attrs = doc["nodes"].get("attributes") or []

    def klass(idx: int) -> str:
        pairs = attrs[idx] if idx < len(attrs) else []
        for k in range(0, len(pairs) - 1, 2):
            if 0 <= pairs[k] < len(strings) and strings[pairs[k]] == "class":
                return " ".join(strings[pairs[k + 1]].split()[:2])[:40]
        return ""

    bounds = layout.get("bounds") or []
    for j, (idx, st) in enumerate(zip(layout.get("nodeIndex", []), layout.get("styles", []), strict=False)):
        vals = [strings[i] if 0 <= i < len(strings) else "" for i in st]
        b = bounds[j] if j < len(bounds) else None
        bottom = (b[1] + b[3]) if b and len(b) == 4 else None
        out[backend[idx]] = (vals[0] if vals else "", vals[1] if len(vals) > 1 else "", bottom, klass(idx))
    return out


def _join(a: str, b: str) -> str:
    """Join two text runs: no space inside quotes (``Enter "`` + ``Jerald`` + ``" into``)."""
    if not a:
        return b
    a_s, b_s = a.rstrip(), b.lstrip()
    if a != a_s or b != b_s:
        return a_s + " " + b_s
    if (a_s[-1:] in "\"'“(" and (len(a_s) == 1 or a_s[-2] == " ")) or (b_s[:1] in "\"'”).,;:!?" and (len(b_s) == 1 or b_s[1] in " .,;:!?")):
        return a_s + b_s
    return a_s + " " + b_s


def _finish(nodes: list[AXNode], max_chars: int, viewport_top: float = 0.0) -> AXTree:
    # A label right before the control it names says nothing the control's line does not.
    nodes = [
        n for i, n in enumerate(nodes)
        if not (n.role == "LabelText" and i + 1 < len(nodes) and _norm(nodes[i + 1].name) == _norm(n.name))
    ]
    for i, n in enumerate(nodes, start=1):
        n.id = i
    lines = [n.line() for n in nodes]
    if not max_chars or sum(len(x) + 1 for x in lines) <= max_chars:
        return AXTree(nodes, "\n".join(lines))
    # Too long: show a window that starts where the viewport does (the root line stays).
    start = 1
    if viewport_top > 0:
        # the first element without children lines that reaches into the viewport (a container
        # such as <main> always does, and would pin the window to the top)
        def leaf(i: int) -> bool:
            return i + 1 == len(nodes) or nodes[i + 1].depth <= nodes[i].depth

        start = next((i for i, n in enumerate(nodes)
                      if i and leaf(i) and n.bottom is not None and n.bottom > viewport_top), len(nodes) - 1)
    kept = lines[:1]
    if start > 1:
        kept.append(f"... ({start - 1} lines above; scroll up to see them)")
    used = sum(len(x) + 1 for x in kept)
    end = start
    while end < len(lines) and used + len(lines[end]) + 1 <= max_chars - 70:
        used += len(lines[end]) + 1
        end += 1
    kept += lines[start:end]
    left = len(lines) - end
    if left:
        kept.append(f"... ({left} more lines below; scroll down to see them)")
    # Elements outside the window keep their ids, so an action on them still resolves.
    return AXTree(nodes, "\n".join(kept), truncated_lines=left + max(0, start - 1))
