"""Rendering CDP accessibility nodes as text (no browser: the nodes are written out here)."""

from ponder.tools.observation import layout_styles, render_ax_tree


def node(nid, role, name="", kids=(), backend=None, ignored=False, props=None, value=None):
    n = {"nodeId": str(nid), "role": {"value": role}, "name": {"value": name}, "childIds": [str(k) for k in kids],
         "ignored": ignored, "backendDOMNodeId": backend if backend is not None else nid,
         "properties": [{"name": k, "value": {"value": v}} for k, v in (props or {}).items()]}
    if value is not None:
        n["value"] = {"value": value}
    return n


def page():
    return [
        node(1, "RootWebArea", "Shop", [2], props={"focused": True}),
        node(2, "generic", "", [3, 5, 7, 9, 12], ignored=True),
        node(3, "link", "Home", [4]),
        node(4, "StaticText", "Home"),
        node(5, "textbox", "Search", [6], value="usb", props={"focused": True}),
        node(6, "generic", ""),
        node(7, "button", "Add to cart", [8], props={"disabled": True}),
        node(8, "StaticText", "Add to cart"),
        node(9, "paragraph", "", [10, 11]),
        node(10, "StaticText", "Price: "),
        node(11, "StaticText", "$9.99"),
        node(12, "list", "", [13]),
        node(13, "listitem", "", [14, 15]),
        node(14, "ListMarker", "• "),
        node(15, "StaticText", "one"),
    ]


def test_lines_ids_and_properties():
    tree = render_ax_tree(page())
    assert tree.text.splitlines() == [
        "[1] RootWebArea 'Shop'",
        "\t[2] link 'Home'",
        "\t[3] textbox 'Search' value='usb' focused",
        "\t[4] button 'Add to cart' disabled",
        "\t[5] StaticText 'Price: $9.99'",
        "\t[6] list",
        "\t\t[7] listitem 'one'",
    ]
    # ids map back to the DOM nodes the browser acts on
    assert tree.by_id[4].backend_id == 7
    assert tree.by_id[5].backend_id == 9  # the paragraph: clicking it clicks the block


def test_find_by_role_and_name():
    tree = render_ax_tree(page())
    assert [n.id for n in tree.find("button", "Add to cart")] == [4]
    assert [n.id for n in tree.find("BUTTON", "add  to cart")] == [4]  # case and spaces
    assert [n.id for n in tree.find("", "Home")] == [2]
    assert [n.id for n in tree.find("link", "Hom")] == [2]  # containment as the last resort
    assert tree.find("link", "Nowhere") == []


def test_truncation_keeps_ids_and_says_so():
    nodes = [node(1, "RootWebArea", "Long", list(range(2, 202)))]
    nodes += [node(i, "link", f"Product number {i}") for i in range(2, 202)]
    tree = render_ax_tree(nodes, max_chars=500)
    assert len(tree.text) <= 500
    assert tree.text.splitlines()[-1].startswith("... (") and "scroll down" in tree.text
    assert tree.truncated_lines > 0
    assert tree.by_id[150].name == "Product number 150"  # still resolvable


def test_styles_keep_blocks_apart_and_mark_clickable_text():
    nodes = [
        node(1, "RootWebArea", "T", [2]),
        node(2, "generic", "", [3, 5]),
        node(3, "generic", "", [4]),
        node(4, "StaticText", "Click on the link \"nam\"."),
        node(5, "generic", "", [6, 7, 9]),
        node(6, "StaticText", "Lorem ipsum"),
        node(7, "generic", "", [8]),
        node(8, "StaticText", "nam"),
        node(9, "StaticText", "dolor"),
    ]
    styles = {2: ("block", "auto"), 3: ("block", "auto"), 5: ("block", "auto"), 7: ("inline", "pointer")}
    lines = render_ax_tree(nodes, styles=styles).text.splitlines()
    assert lines == [
        "[1] RootWebArea 'T'",
        "\t[2] StaticText 'Click on the link \"nam\".'",
        "\t[3] StaticText 'Lorem ipsum'",
        "\t[4] StaticText 'nam' clickable",
        "\t[5] StaticText 'dolor'",
    ]
    # without styles the whole block folds into one line
    assert len(render_ax_tree(nodes).text.splitlines()) == 2


def test_layout_styles_reads_a_dom_snapshot():
    snap = {"strings": ["block", "pointer", "auto"],
            "documents": [{"nodes": {"backendNodeId": [10, 11, 12]},
                           "layout": {"nodeIndex": [0, 2], "styles": [[0, 2], [0, 1]]}}]}
    assert layout_styles(snap) == {10: ("block", "auto", None, ""), 12: ("block", "pointer", None, "")}
    assert layout_styles({}) == {}


def test_a_long_page_is_shown_from_the_viewport():
    nodes = [node(1, "RootWebArea", "Long", list(range(2, 202)))]
    nodes += [node(i, "link", f"Product number {i}") for i in range(2, 202)]
    styles = {i: ("block", "auto", 20.0 * i) for i in range(2, 202)}  # each link 20px lower
    top = render_ax_tree(nodes, max_chars=500, styles=styles)
    scrolled = render_ax_tree(nodes, max_chars=500, styles=styles, viewport_top=1000.0)
    assert "Product number 2'" in top.text and "lines above" not in top.text
    lines = scrolled.text.splitlines()
    assert lines[0] == "[1] RootWebArea 'Long'"
    assert lines[1].startswith("... (49 lines above")  # links 2..50 end at or above y=1000
    assert "Product number 51'" in lines[2]
    assert len(scrolled.text) <= 500 and "scroll down" in lines[-1]
