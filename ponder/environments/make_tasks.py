"""Generate ponder's built-in tasks (``task_data/{shop,forum,wiki}.json``) from the seeded data.

    python -m ponder.environments.make_tasks            # rewrite the checked-in files (seed 0)
    python -m ponder.environments.make_tasks --check    # fail if the files are out of date

Every answer is read from the seed-0 database, so a change to a site's generator shows up as a
diff here; ``tests/environments/test_reference_solutions.py`` then proves each task's reference
solution scores 1.0 in a real browser and a do-nothing episode scores 0.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

from ponder.environments.sites import admin, build_database, shop, wiki
from ponder.environments.sites.forum import karma, list_posts
from ponder.environments.sites.wiki import facts_of, title_path

OUT = Path(__file__).with_name("task_data")
ALEX_SHOP = "(SELECT id FROM users WHERE site = 'shop' AND username = 'alex')"
ALEX_FORUM = "(SELECT id FROM users WHERE site = 'forum' AND username = 'alex')"
ALEX_WIKI = "(SELECT id FROM users WHERE site = 'wiki' AND username = 'alex')"


def money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


class Builder:
    """Collects one site's tasks with consistent ids and shapes."""

    def __init__(self, site: str):
        self.site = site
        self.tasks: list[dict] = []

    def add(self, intent: str, *, difficulty: str, category: str, reference: list[str], start: str = "/",
            login: bool = False, string: dict | None = None, url: str | None = None,
            html: list[dict] | None = None, db: list[dict] | None = None, string_note: str = "") -> None:
        ev: dict = {"eval_types": [], "reference_answers": None, "reference_url": "", "program_html": []}
        if string is not None:
            ev["eval_types"].append("string_match")
            ev["reference_answers"] = string
            ev["string_note"] = string_note
        if url is not None:
            ev["eval_types"].append("url_match")
            ev["reference_url"] = url
            ev["url_note"] = "GOLD in PRED"
        if html:
            ev["eval_types"].append("program_html")
            ev["program_html"] = html
        if db:
            ev["eval_types"].append("db_state")
            ev["db_state"] = db
        self.tasks.append({
            "task_id": f"{self.site}-{len(self.tasks) + 1:03d}",
            "sites": [self.site],
            "start_url": f"__{self.site.upper()}__{start}",
            "intent": intent,
            "require_login": login,
            "difficulty": difficulty,
            "category": category,
            "eval": ev,
            "reference": reference,
        })


def points(n: int) -> str:
    return f"{n} point" + ("" if abs(n) == 1 else "s")


def search_steps(query: str, link: str) -> list[str]:
    return [f"type [searchbox 'Search'] [{query}] [1]", f"click [link '{link}']"]


# ---- shop --------------------------------------------------------------------------------------
def shop_tasks(conn: sqlite3.Connection) -> list[dict]:
    b = Builder("shop")
    q = conn.execute
    products = q("SELECT p.*, c.name AS cat FROM shop_products p JOIN shop_categories c ON c.slug = p.category ORDER BY p.id").fetchall()
    by_id = {p["id"]: p for p in products}
    alex = q("SELECT * FROM users WHERE site = 'shop' AND username = 'alex'").fetchone()
    cart = [r["product_id"] for r in q("SELECT product_id FROM shop_cart WHERE user_id = ? ORDER BY product_id", (alex["id"],))]
    orders = q("SELECT * FROM shop_orders WHERE user_id = ? ORDER BY id", (alex["id"],)).fetchall()
    max_order = orders[-1]["id"]
    # products nobody's cart or order touches, spread over the catalogue
    picks = [p for p in products if p["id"] not in cart and p["stock"] > 0 and p["category"] != "books"]
    pick = picks[::17]

    # info: price, reviews, brand, sku, stock
    for p in pick[0:3]:
        b.add(f"What is the price of the {p['name']}?", difficulty="easy", category="info",
              reference=[*search_steps(p["name"], p["name"]), f"stop [{money(p['price'])}]"],
              string={"must_include": [f"{p['price'] / 100:.2f}"]})
    for p in [x for x in pick if x["review_count"] >= 2][:2]:
        b.add(f"How many customer reviews does the {p['name']} have?", difficulty="easy", category="info",
              reference=[*search_steps(p["name"], p["name"]), f"stop [{p['review_count']}]"],
              string={"must_include": [str(p["review_count"])]})
    p = pick[3]
    b.add(f"Which brand makes the {p['name']}?", difficulty="easy", category="info",
          reference=[*search_steps(p["name"], p["name"]), f"stop [{p['brand']}]"],
          string={"must_include": [p["brand"]]})
    book = next(x for x in products if x["category"] == "books" and x["id"] not in cart)
    b.add(f"Who is the author of the book \"{book['name']}\" sold in the shop?", difficulty="easy", category="info",
          reference=[*search_steps(book["name"], book["name"]), f"stop [{book['brand']}]"],
          string={"must_include": [book["brand"]]})
    p = pick[4]
    b.add(f"What is the SKU of the {p['name']}?", difficulty="easy", category="info",
          reference=[*search_steps(p["name"], p["name"]), f"stop [{p['sku']}]"],
          string={"exact_match": p["sku"]})
    out = next(x for x in products if x["stock"] == 0 and x["id"] not in cart)
    b.add(f"Is the {out['name']} currently in stock? Answer Yes or No.", difficulty="easy", category="info",
          reference=[*search_steps(out["name"], out["name"]), "stop [No]"], string={"exact_match": "No"})
    p = pick[5]
    b.add(f"Is the {p['name']} currently in stock? Answer Yes or No.", difficulty="easy", category="info",
          reference=[*search_steps(p["name"], p["name"]), "stop [Yes]"], string={"exact_match": "Yes"})

    # info over listings: cheapest, most reviewed, count under a price
    def unique_extreme(slug: str, sort: str) -> sqlite3.Row | None:
        rows = shop.list_products(conn, {"category": slug, "sort": sort})
        key = {"price_asc": "price", "price_desc": "price", "reviews": "review_count"}[sort]
        return rows[0] if len(rows) > 1 and rows[0][key] != rows[1][key] else None

    cats = q("SELECT * FROM shop_categories ORDER BY position").fetchall()
    done = 0
    for cat in cats:
        top = unique_extreme(cat["slug"], "price_asc")
        if top is None or done >= 2:
            continue
        done += 1
        b.add(f"What is the cheapest product in the {cat['name']} category?", difficulty="medium", category="info",
              reference=[f"click [link '{cat['name']}']", "select [combobox 'Sort by'] [Price: low to high]",
                         "click [button 'Apply filters']", f"stop [{top['name']}]"],
              string={"must_include": [top["name"]]})
    for cat in cats[2:]:
        top = unique_extreme(cat["slug"], "price_desc")
        if top is not None:
            b.add(f"What is the most expensive product in the {cat['name']} category, and what does it cost?",
                  difficulty="medium", category="info",
                  reference=[f"click [link '{cat['name']}']", "select [combobox 'Sort by'] [Price: high to low]",
                             "click [button 'Apply filters']", f"stop [{top['name']}, {money(top['price'])}]"],
                  string={"must_include": [top["name"], f"{top['price'] / 100:.2f}"]})
            break
    for cat in cats[4:]:
        top = unique_extreme(cat["slug"], "reviews")
        if top is not None:
            b.add(f"Which product in the {cat['name']} category has the most reviews?", difficulty="medium",
                  category="info",
                  reference=[f"click [link '{cat['name']}']", "select [combobox 'Sort by'] [Most reviews]",
                             "click [button 'Apply filters']", f"stop [{top['name']}]"],
                  string={"must_include": [top["name"]]})
            break
    for cat, limit in ((cats[0], 20), (cats[5], 25)):
        n = len(shop.list_products(conn, {"category": cat["slug"], "max_price": str(limit)}))
        b.add(f"How many products in the {cat['name']} category cost ${limit} or less?", difficulty="medium",
              category="info",
              reference=[f"click [link '{cat['name']}']", f"type [textbox 'Max price'] [{limit}] [0]",
                         "click [button 'Apply filters']", f"stop [{n}]"],
              string={"must_include": [str(n)]})
    # a review by a named customer
    row = q("SELECT r.*, u.display_name AS author, p.name FROM shop_reviews r JOIN users u ON u.id = r.user_id"
            " JOIN shop_products p ON p.id = r.product_id WHERE p.review_count BETWEEN 2 AND 4 ORDER BY r.id").fetchall()
    for r in row:
        same = [x for x in row if x["product_id"] == r["product_id"] and x["author"] == r["author"]]
        if len(same) == 1 and r["product_id"] not in cart:
            b.add(f"What star rating did {r['author']} give the {r['name']}?", difficulty="medium", category="info",
                  reference=[*search_steps(r["name"], r["name"]), f"stop [{r['rating']}]"],
                  string={"must_include": [str(r["rating"])]})
            break

    # info behind the login: orders and account
    o = orders[2]
    b.add(f"How much did I pay in total for my order #{o['id']}?", difficulty="medium", category="info", login=True,
          reference=["click [link 'My orders']", f"click [link 'Order #{o['id']}']", f"stop [{money(o['total'])}]"],
          string={"must_include": [f"{o['total'] / 100:.2f}"]})
    n_canceled = sum(1 for x in orders if x["status"] == "Canceled")
    b.add("How many of my orders were canceled?", difficulty="medium", category="info", login=True,
          reference=["click [link 'My orders']", f"stop [{n_canceled}]"], string={"must_include": [str(n_canceled)]})
    multi = next(x for x in orders if q("SELECT COUNT(*) FROM shop_order_items WHERE order_id = ?", (x["id"],)).fetchone()[0] >= 2
                 and len({r[0] for r in q("SELECT price FROM shop_order_items WHERE order_id = ?", (x["id"],))}) >= 2)
    top_item = q("SELECT * FROM shop_order_items WHERE order_id = ? ORDER BY price DESC LIMIT 1", (multi["id"],)).fetchone()
    b.add(f"Which item in my order #{multi['id']} had the highest unit price?", difficulty="hard", category="info",
          login=True,
          reference=["click [link 'My orders']", f"click [link 'Order #{multi['id']}']", f"stop [{top_item['name']}]"],
          string={"must_include": [top_item["name"]]})
    big = max(orders, key=lambda x: x["total"])
    b.add("Which of my orders had the largest total? Give the order number.", difficulty="hard", category="info",
          login=True, reference=["click [link 'My orders']", f"stop [#{big['id']}]"],
          string={"must_include": [str(big["id"])]})
    b.add("What postal code is saved on my shop account?", difficulty="easy", category="info", login=True,
          reference=["click [link 'My account']", f"stop [{alex['zip']}]"], string={"exact_match": alex["zip"]})

    # navigation
    p = pick[6]
    b.add(f"Open the product page of the {p['name']}.", difficulty="easy", category="navigation",
          reference=[*search_steps(p["name"], p["name"]), "stop []"], url=f"__SHOP__/product/{p['id']}")
    cat = cats[1]
    b.add(f"Show me the {cat['name']} category sorted by price from high to low.", difficulty="medium",
          category="navigation",
          reference=[f"click [link '{cat['name']}']", "select [combobox 'Sort by'] [Price: high to low]",
                     "click [button 'Apply filters']", "stop []"],
          url=f"__SHOP__/category/{cat['slug']}?sort=price_desc |OR| __SHOP__/search?category={cat['slug']}&sort=price_desc")
    b.add("Search the shop for \"yoga mat\" and show only the results rated 4 stars and up.", difficulty="medium",
          category="navigation",
          reference=["type [searchbox 'Search'] [yoga mat] [1]", "select [combobox 'Minimum rating'] [4 stars & up]",
                     "click [button 'Apply filters']", "stop []"],
          url="__SHOP__/search?q=yoga+mat&min_rating=4")
    cat = cats[2]
    b.add(f"Go to the second page of the {cat['name']} category.", difficulty="easy", category="navigation",
          reference=[f"click [link '{cat['name']}']", "click [link 'Next page']", "stop []"],
          url=f"__SHOP__/category/{cat['slug']}?page=2 |OR| __SHOP__/search?category={cat['slug']}&page=2")
    o = orders[4]
    b.add(f"Show me the details of my order #{o['id']}.", difficulty="easy", category="navigation", login=True,
          reference=["click [link 'My orders']", f"click [link 'Order #{o['id']}']", "stop []"],
          url=f"__SHOP__/orders/{o['id']}")
    b.add("Open my shopping cart.", difficulty="easy", category="navigation", login=True,
          reference=["click [link 'My cart']", "stop []"], url="__SHOP__/cart")

    # state changes
    def cart_qty(pid: int, qty: int) -> dict:
        return {"sql": f"SELECT qty FROM shop_cart WHERE user_id = {ALEX_SHOP} AND product_id = ?", "params": [pid],
                "expected": [[qty]] if qty else []}

    for p, qty in ((pick[7], 2), (pick[8], 1)):
        b.add(f"Add {qty} of the {p['name']} to my cart.", difficulty="medium", category="state", login=True,
              reference=[*search_steps(p["name"], p["name"]), f"type [spinbutton 'Quantity'] [{qty}] [0]",
                         "click [button 'Add to cart']", "stop []"],
              db=[cart_qty(p["id"], qty)],
              html=[{"url": "__SHOP__/cart", "locator": "document.querySelector('#cart') ? document.querySelector('#cart').outerText : ''",
                     "required_contents": {"must_include": [p["name"]]}}])
    first, second = by_id[cart[0]], by_id[cart[1]]
    b.add(f"Remove the {first['name']} from my cart, but keep everything else.", difficulty="medium", category="state",
          login=True, reference=["click [link 'My cart']", f"click [button 'Remove {first['name']}']", "stop []"],
          db=[cart_qty(first["id"], 0), {"sql": f"SELECT COUNT(*) FROM shop_cart WHERE user_id = {ALEX_SHOP} AND product_id = ?",
                                          "params": [second["id"]], "expected": [[1]]}])
    b.add(f"Change the quantity of the {second['name']} in my cart to 3.", difficulty="medium", category="state",
          login=True,
          reference=["click [link 'My cart']", f"type [spinbutton 'Quantity of {second['name']}'] [3] [0]",
                     f"click [button 'Update {second['name']}']", "stop []"],
          db=[cart_qty(second["id"], 3)])
    p = pick[9]
    new_order = (f"SELECT o.shipping_method, i.qty FROM shop_orders o JOIN shop_order_items i ON i.order_id = o.id"
                 f" WHERE o.user_id = {ALEX_SHOP} AND o.id > {max_order} AND i.product_id = ?")
    b.add(f"Buy one {p['name']} with express shipping to the address on my account.", difficulty="hard",
          category="state", login=True,
          reference=[*search_steps(p["name"], p["name"]), "click [button 'Add to cart']",
                     "click [link 'Proceed to checkout']", "select [combobox 'Shipping method'] [Express (1-2 days)]",
                     "click [button 'Place order']", "stop []"],
          db=[{"sql": new_order, "params": [p["id"]], "expected": [["express", 1]]}])
    cat = next(c for c in cats[::-1] if shop.list_products(conn, {"category": c["slug"], "sort": "price_asc", "in_stock": "1"})[0]["id"] not in cart)
    cheapest = shop.list_products(conn, {"category": cat["slug"], "sort": "price_asc", "in_stock": "1"})[0]
    b.add(f"Buy 2 units of the cheapest in-stock product in the {cat['name']} category, with standard shipping.",
          difficulty="hard", category="state", login=True,
          reference=[f"click [link '{cat['name']}']",
                     "select [combobox 'Sort by'] [Price: low to high]", "click [checkbox 'In stock only']",
                     "click [button 'Apply filters']", f"click [link '{cheapest['name']}']",
                     "type [spinbutton 'Quantity'] [2] [0]", "click [button 'Add to cart']",
                     "click [link 'Proceed to checkout']", "select [combobox 'Shipping method'] [Standard (5-7 days)]",
                     "click [button 'Place order']", "stop []"],
          db=[{"sql": new_order, "params": [cheapest["id"]], "expected": [["standard", 2]]}])
    pending = next(x for x in orders if x["status"] == "Pending")
    b.add("Cancel my order that is still pending.", difficulty="medium", category="state", login=True,
          reference=["click [link 'My orders']", f"click [link 'Order #{pending['id']}']", "click [button 'Cancel order']",
                     "stop []"],
          db=[{"sql": "SELECT status FROM shop_orders WHERE id = ?", "params": [pending["id"]], "expected": [["Canceled"]]}],
          html=[{"url": "last", "locator": "document.querySelector('#order-status') ? document.querySelector('#order-status').outerText : ''",
                 "required_contents": {"exact_match": "Canceled"}}])
    p = pick[10]
    b.add(f"Write a 4-star review of the {p['name']} titled \"Solid choice\" with the text \"Does what it promises.\"",
          difficulty="medium", category="state", login=True,
          reference=[*search_steps(p["name"], p["name"]), "select [combobox 'Rating'] [4 stars]",
                     "type [textbox 'Title'] [Solid choice] [0]", "type [textbox 'Review'] [Does what it promises.] [0]",
                     "click [button 'Submit review']", "stop []"],
          db=[{"sql": f"SELECT rating, title, body FROM shop_reviews WHERE product_id = ? AND user_id = {ALEX_SHOP}",
               "params": [p["id"]], "expected": [[4, "Solid choice", "Does what it promises."]]}])
    b.add("Change the phone number on my shop account to 555-0199.", difficulty="easy", category="state", login=True,
          reference=["click [link 'My account']", "type [textbox 'Phone'] [555-0199] [0]", "click [button 'Save changes']",
                     "stop []"],
          db=[{"sql": "SELECT phone FROM users WHERE site = 'shop' AND username = 'alex'", "expected": [["555-0199"]]}])
    b.add("I moved: change my address to 22 Harbor Lane, Lakeside, postal code 60614.", difficulty="medium",
          category="state", login=True,
          reference=["click [link 'My account']", "type [textbox 'Street address'] [22 Harbor Lane] [0]",
                     "type [textbox 'City'] [Lakeside] [0]", "type [textbox 'Postal code'] [60614] [0]",
                     "click [button 'Save changes']", "stop []"],
          db=[{"sql": "SELECT street, city, zip FROM users WHERE site = 'shop' AND username = 'alex'",
               "expected": [["22 Harbor Lane", "Lakeside", "60614"]]}])
    return b.tasks


# ---- forum -------------------------------------------------------------------------------------
def forum_tasks(conn: sqlite3.Connection) -> list[dict]:
    b = Builder("forum")
    q = conn.execute
    forums = q("SELECT * FROM forum_forums ORDER BY position").fetchall()
    posts = q("SELECT p.*, u.username AS author, f.title AS forum_title,"
              " (SELECT COUNT(*) FROM forum_comments c WHERE c.post_id = p.id) AS n_comments"
              " FROM forum_posts p JOIN users u ON u.id = p.user_id JOIN forum_forums f ON f.name = p.forum ORDER BY p.id").fetchall()
    titles = [p["title"] for p in posts]
    unique = [p for p in posts if titles.count(p["title"]) == 1 and not any(
        p["title"] != t and p["title"] in t for t in titles)]

    def open_post(p) -> list[str]:
        return [f"click [link '{p['forum_title']}']", *(["click [link 'Next page']"] if _page_of(p) > 1 else []),
                f"click [link '{p['title']}']"]

    def _page_of(p) -> int:
        ordered = [x["id"] for x in list_posts(conn, p["forum"], "new")]
        return ordered.index(p["id"]) // 10 + 1

    with_comments = [p for p in unique if p["n_comments"] >= 3]
    for p in with_comments[0:2]:
        b.add(f"How many comments does the forum post \"{p['title']}\" have?", difficulty="easy", category="info",
              reference=[*open_post(p), f"stop [{p['n_comments']}]"], string={"must_include": [str(p["n_comments"])]})
    for p in unique[3:5]:
        b.add(f"Who wrote the forum post \"{p['title']}\"?", difficulty="easy", category="info",
              reference=[*open_post(p), f"stop [{p['author']}]"], string={"must_include": [p["author"]]})
    p = unique[6]
    b.add(f"How many points does the post \"{p['title']}\" have?", difficulty="easy", category="info",
          reference=[*open_post(p), f"stop [{p['score']}]"], string={"must_include": [str(p["score"])]})
    p = unique[8]
    b.add(f"In which forum was the post \"{p['title']}\" published?", difficulty="easy", category="info",
          reference=[*search_steps(p["title"], p["title"]), f"stop [{p['forum_title']}]"],
          string={"must_include": [p["forum_title"]]})
    for f in forums[:2]:
        top = list_posts(conn, f["name"], "top")
        b.add(f"What is the title of the highest-scoring post in the {f['title']} forum?", difficulty="medium",
              category="info",
              reference=[f"click [link '{f['title']}']", "click [link 'Top']", f"stop [{top[0]['title']}]"],
              string={"must_include": [top[0]["title"]]})
    for f in forums[2:]:
        top = list_posts(conn, f["name"], "comments")
        if top[0]["n_comments"] > top[1]["n_comments"]:
            b.add(f"Which post in the {f['title']} forum has the most comments?", difficulty="medium", category="info",
                  reference=[f"click [link '{f['title']}']", "click [link 'Most comments']", f"stop [{top[0]['title']}]"],
                  string={"must_include": [top[0]["title"]]})
            break
    f = forums[3]
    n = q("SELECT COUNT(*) FROM forum_posts WHERE forum = ?", (f["name"],)).fetchone()[0]
    b.add(f"How many posts are there in the {f['title']} forum?", difficulty="easy", category="info",
          reference=[f"stop [{n}]"], string={"must_include": [str(n)]})
    users = q("SELECT * FROM users WHERE site = 'forum' AND username != 'alex' ORDER BY id").fetchall()
    for u in users[1:3]:
        k = karma(conn, u["id"])
        b.add(f"What is the karma of the forum user {u['username']}?", difficulty="medium", category="info",
              reference=[f"goto [__FORUM__/u/{u['username']}]", f"stop [{k}]"], string={"must_include": [str(k)]})
    u = users[4]
    b.add(f"When did {u['username']} join the forum?", difficulty="easy", category="info",
          reference=[f"goto [__FORUM__/u/{u['username']}]", f"stop [{u['joined']}]"],
          string={"must_include": [u["joined"]]})
    u = users[5]
    n = q("SELECT COUNT(*) FROM forum_posts WHERE user_id = ?", (u["id"],)).fetchone()[0]
    b.add(f"How many posts has {u['username']} written?", difficulty="medium", category="info",
          reference=[f"goto [__FORUM__/u/{u['username']}]", f"stop [{n}]"], string={"must_include": [str(n)]})
    u = users[6]
    n = q("SELECT COUNT(*) FROM forum_comments WHERE user_id = ?", (u["id"],)).fetchone()[0]
    b.add(f"How many comments has {u['username']} made on the forum?", difficulty="medium", category="info",
          reference=[f"goto [__FORUM__/u/{u['username']}]", f"stop [{n}]"], string={"must_include": [str(n)]})
    u = users[7]
    b.add(f"What does {u['username']}'s forum biography say?", difficulty="easy", category="info",
          reference=[f"goto [__FORUM__/u/{u['username']}]", f"stop [{u['bio']}]"], string={"fuzzy_match": [u["bio"]]})
    for p in with_comments[2:]:
        first = q("SELECT c.*, u.username FROM forum_comments c JOIN users u ON u.id = c.user_id WHERE post_id = ?"
                  " ORDER BY created, c.id LIMIT 1", (p["id"],)).fetchone()
        b.add(f"Who wrote the first comment on the post \"{p['title']}\"?", difficulty="medium", category="info",
              reference=[*open_post(p), f"stop [{first['username']}]"], string={"must_include": [first["username"]]})
        break
    # a reply: the only nested comment under a unique parent author
    for p in unique:
        rows = q("SELECT c.*, u.username FROM forum_comments c JOIN users u ON u.id = c.user_id WHERE post_id = ?",
                 (p["id"],)).fetchall()
        nested = [c for c in rows if c["parent_id"] is not None]
        if len(nested) != 1:
            continue
        parent = next(c for c in rows if c["id"] == nested[0]["parent_id"])
        if sum(1 for c in rows if c["username"] == parent["username"]) != 1 or nested[0]["username"] == parent["username"]:
            continue
        b.add(f"On the post \"{p['title']}\", who replied to {parent['username']}'s comment, and what did they say?",
              difficulty="hard", category="info",
              reference=[*open_post(p), f"stop [{nested[0]['username']}: {nested[0]['body']}]"],
              string={"must_include": [nested[0]["username"]], "fuzzy_match": [nested[0]["body"]]})
        break

    # navigation
    f = forums[4]
    b.add(f"Show the {f['title']} forum sorted by top posts.", difficulty="easy", category="navigation",
          reference=[f"click [link '{f['title']}']", "click [link 'Top']", "stop []"], url=f"__FORUM__/f/{f['name']}?sort=top")
    p = unique[10]
    b.add(f"Open the profile of the person who wrote the post \"{p['title']}\".", difficulty="medium",
          category="navigation", reference=[*open_post(p), f"click [link '{p['author']}']", "stop []"],
          url=f"__FORUM__/u/{p['author']}")
    b.add("Search the forum for posts about night trains.", difficulty="easy", category="navigation",
          reference=["type [searchbox 'Search'] [night trains] [1]", "stop []"], url="__FORUM__/search?q=night+trains")
    f = forums[5]
    b.add(f"Go to the second page of the {f['title']} forum.", difficulty="easy", category="navigation",
          reference=[f"click [link '{f['title']}']", "click [link 'Next page']", "stop []"], url=f"__FORUM__/f/{f['name']}?page=2")
    p = unique[12]
    b.add(f"Open the post \"{p['title']}\".", difficulty="easy", category="navigation",
          reference=[*open_post(p), "stop []"], url=f"__FORUM__/f/{p['forum']}/{p['id']}")

    # state changes
    def vote_row(kind: str, target: int, value: int) -> dict:
        return {"sql": f"SELECT value FROM forum_votes WHERE user_id = {ALEX_FORUM} AND kind = ? AND target_id = ?",
                "params": [kind, target], "expected": [[value]]}

    for p in unique[14:16]:
        b.add(f"Upvote the post \"{p['title']}\".", difficulty="easy", category="state", login=True,
              reference=[*open_post(p), "click [button 'Upvote post']", "stop []"], db=[vote_row("post", p["id"], 1)],
              html=[{"url": "last", "locator": "document.querySelector('#post-score').outerText",
                     "required_contents": {"must_include": [points(p["score"] + 1)]}}])
    p = unique[16]
    b.add(f"Downvote the post \"{p['title']}\".", difficulty="easy", category="state", login=True,
          reference=[*open_post(p), "click [button 'Downvote post']", "stop []"], db=[vote_row("post", p["id"], -1)])
    for p, text in ((unique[17], "Thanks, this helped me a lot."), (unique[18], "I tried this last spring and it worked.")):
        b.add(f"Comment \"{text}\" on the post \"{p['title']}\".", difficulty="medium", category="state", login=True,
              reference=[*open_post(p), f"type [textbox 'Comment'] [{text}] [0]", "click [button 'Post comment']", "stop []"],
              db=[{"sql": f"SELECT COUNT(*) FROM forum_comments WHERE post_id = ? AND user_id = {ALEX_FORUM}"
                          " AND parent_id IS NULL AND body = ?", "params": [p["id"], text], "expected": [[1]]}],
              html=[{"url": "last", "locator": "document.querySelector('#comments').outerText",
                     "required_contents": {"must_include": [text]}}])
    for p in with_comments[3:]:
        c = q("SELECT c.*, u.username FROM forum_comments c JOIN users u ON u.id = c.user_id WHERE post_id = ?"
              " ORDER BY c.score DESC, c.id", (p["id"],)).fetchall()
        if len(c) >= 2 and c[0]["score"] > c[1]["score"]:
            b.add(f"Upvote the highest-scoring comment on the post \"{p['title']}\".", difficulty="hard",
                  category="state", login=True,
                  reference=[*open_post(p), f"click [button 'Upvote comment {c[0]['id']}']", "stop []"],
                  db=[vote_row("comment", c[0]["id"], 1)])
            text = "Good point, I agree."
            b.add(f"Reply \"{text}\" to {c[0]['username']}'s highest-scoring comment on the post \"{p['title']}\".",
                  difficulty="hard", category="state", login=True,
                  reference=[*open_post(p), f"click [link 'Reply to comment {c[0]['id']}']",
                             f"type [textbox 'Reply'] [{text}] [0]", "click [button 'Post reply']", "stop []"],
                  db=[{"sql": f"SELECT parent_id, body FROM forum_comments WHERE user_id = {ALEX_FORUM} AND post_id = ?",
                       "params": [p["id"]], "expected": [[c[0]["id"], text]]}])
            break
    for f, title, body in ((forums[1], "Favourite weeknight soup?", "Looking for something warm and quick."),
                           (forums[6], "Which lens for a first portrait?", "I have a small budget and an old camera.")):
        b.add(f"Create a post in the {f['title']} forum titled \"{title}\" with the text \"{body}\".",
              difficulty="medium", category="state", login=True,
              reference=["click [link 'Submit a post']", f"select [combobox 'Forum'] [{f['title']}]",
                         f"type [textbox 'Title'] [{title}] [0]", f"type [textbox 'Body'] [{body}] [0]",
                         "click [button 'Submit post']", "stop []"],
              db=[{"sql": f"SELECT forum, body FROM forum_posts WHERE user_id = {ALEX_FORUM} AND title = ?",
                   "params": [title], "expected": [[f["name"], body]]}])
    bio = "Amateur baker and weekend cyclist."
    b.add(f"Change my forum biography to \"{bio}\".", difficulty="medium", category="state", login=True,
          reference=["click [link 'My profile']", "click [link 'Edit profile']", f"type [textbox 'Biography'] [{bio}] [0]",
                     "click [button 'Save profile']", "stop []"],
          db=[{"sql": "SELECT bio FROM users WHERE site = 'forum' AND username = 'alex'", "expected": [[bio]]}],
          html=[{"url": "__FORUM__/u/alex", "locator": "document.querySelector('#bio').outerText",
                 "required_contents": {"exact_match": bio}}])
    return b.tasks


# ---- wiki --------------------------------------------------------------------------------------
def wiki_tasks(conn: sqlite3.Connection) -> list[dict]:
    b = Builder("wiki")
    q = conn.execute
    pages = q(wiki.CURRENT_SQL + " ORDER BY p.id").fetchall()
    info = {p["title"]: p for p in pages}
    facts = {p["title"]: facts_of(p["content"]) for p in pages}
    kind = {p["title"]: wiki.CATEGORY.findall(p["content"])[0] for p in pages}
    of = {k: [t for t in info if kind[t] == k] for k in set(kind.values())}
    titles = list(info)

    def open_article(title: str) -> list[str]:
        return [f"type [searchbox 'Search'] [{title}] [1]", f"click [link '{title}']"]

    def loose(value: str) -> str:
        """A number with thousands separators also matches without them."""
        return f"{value} |OR| {value.replace(',', '')}" if "," in value else value

    cities, countries = of["Cities"], of["Countries"]
    for c in cities[5:7]:
        pop = facts[c]["Population"]
        b.add(f"What is the population of {c}?", difficulty="easy", category="info",
              reference=[*open_article(c), f"stop [{pop}]"], string={"must_include": [loose(pop)]})
    c = cities[7]
    b.add(f"In what year was {c} founded?", difficulty="easy", category="info",
          reference=[*open_article(c), f"stop [{facts[c]['Founded']}]"], string={"must_include": [facts[c]["Founded"]]})
    c = cities[8]
    b.add(f"Who founded the city of {c}?", difficulty="easy", category="info",
          reference=[*open_article(c), f"stop [{facts[c]['Founder']}]"], string={"must_include": [facts[c]["Founder"]]})
    c = cities[9]
    b.add(f"Which river flows through {c}?", difficulty="easy", category="info",
          reference=[*open_article(c), f"stop [{facts[c]['River']}]"], string={"must_include": [facts[c]["River"]]})
    for k in countries[:2]:
        b.add(f"What is the capital of {k}?", difficulty="easy", category="info",
              reference=[*open_article(k), f"stop [{facts[k]['Capital']}]"], string={"must_include": [facts[k]["Capital"]]})
    k = countries[2]
    b.add(f"What is the official language of {k}?", difficulty="easy", category="info",
          reference=[*open_article(k), f"stop [{facts[k]['Official language']}]"],
          string={"must_include": [facts[k]["Official language"]]})
    m = of["Mountains"][1]
    b.add(f"How high is {m}, in metres?", difficulty="easy", category="info",
          reference=[*open_article(m), f"stop [{facts[m]['Height']}]"],
          string={"must_include": [loose(facts[m]["Height"].removesuffix(" m"))]})
    r = of["Rivers"][2]
    b.add(f"How long is the {r}?", difficulty="easy", category="info",
          reference=[*open_article(r), f"stop [{facts[r]['Length']}]"], string={"must_include": [facts[r]["Length"].removesuffix(" km")]})
    inv = of["Inventions"][0]
    b.add(f"Who invented the {inv}?", difficulty="easy", category="info",
          reference=[*open_article(inv), f"stop [{facts[inv]['Inventor']}]"], string={"must_include": [facts[inv]["Inventor"]]})
    n_people = len(of["People"])
    b.add("How many articles are there in the People category of the wiki?", difficulty="medium", category="info",
          reference=["click [link 'People']", f"stop [{n_people}]"], string={"must_include": [str(n_people)]})
    for k in countries[3:5]:
        cap = facts[k]["Capital"]
        b.add(f"What is the population of the capital city of {k}?", difficulty="hard", category="info",
              reference=[*open_article(k), f"click [link '{cap}']", f"stop [{facts[cap]['Population']}]"],
              string={"must_include": [loose(facts[cap]["Population"])]})
    inv = of["Inventions"][2]
    person = facts[inv]["Inventor"]
    b.add(f"In which city was the inventor of the {inv} born?", difficulty="hard", category="info",
          reference=[*open_article(inv), f"click [link '{person}']", f"stop [{facts[person]['Birthplace']}]"],
          string={"must_include": [facts[person]["Birthplace"]]})
    m = of["Mountains"][3]
    climber = facts[m]["First climbed by"]
    b.add(f"What was the occupation of the first person to climb {m}?", difficulty="hard", category="info",
          reference=[*open_article(m), f"click [link '{climber}']", f"stop [{facts[climber]['Occupation']}]"],
          string={"must_include": [facts[climber]["Occupation"]]})
    revs = {t: q("SELECT r.*, u.username FROM wiki_revisions r JOIN users u ON u.id = r.user_id WHERE page_id = ? ORDER BY r.id",
                 (info[t]["page_id"],)).fetchall() for t in titles}
    multi = [t for t in titles if len(revs[t]) >= 3 and len({r["username"] for r in revs[t]}) >= 2]
    for t in multi[:2]:
        b.add(f"Who made the most recent edit to the wiki article \"{t}\"?", difficulty="medium", category="info",
              reference=[*open_article(t), "click [link 'View history']", f"stop [{revs[t][-1]['username']}]"],
              string={"must_include": [revs[t][-1]["username"]]})
    t = multi[2]
    b.add(f"How many revisions does the wiki article \"{t}\" have?", difficulty="medium", category="info",
          reference=[*open_article(t), "click [link 'View history']", f"stop [{len(revs[t])}]"],
          string={"must_include": [str(len(revs[t]))]})
    t = multi[3]
    b.add(f"Who created the wiki article \"{t}\"?", difficulty="medium", category="info",
          reference=[*open_article(t), "click [link 'View history']", f"stop [{revs[t][0]['username']}]"],
          string={"must_include": [revs[t][0]["username"]]})
    updated = [t for t in cities if any(r["summary"] == "Updated population figure" for r in revs[t])]
    if updated:
        t = updated[0]
        idx = next(i for i, r in enumerate(revs[t]) if r["summary"] == "Updated population figure")
        old = facts_of(revs[t][idx - 1]["content"])["Population"]
        b.add(f"What was the population of {t} according to the wiki before its population figure was last updated?",
              difficulty="hard", category="info",
              reference=[*open_article(t), "click [link 'View history']", f"click [link 'Revision {revs[t][idx - 1]['id']}']",
                         f"stop [{old}]"],
              string={"must_include": [loose(old)]})
    person = of["People"][4]
    b.add(f"In what year did {person} win the Golden Quill award? If the wiki does not say, answer N/A.",
          difficulty="medium", category="info", reference=[*open_article(person), "stop [N/A]"],
          string={"fuzzy_match": "N/A"}, string_note="The wiki never mentions a Golden Quill award.")

    # navigation
    t = of["Rivers"][4]
    b.add(f"Open the wiki article about the {t}.", difficulty="easy", category="navigation",
          reference=[*open_article(t), "stop []"], url=f"__WIKI__/article/{title_path(t)}")
    t = of["People"][6]
    b.add(f"Show the revision history of the article about {t}.", difficulty="easy", category="navigation",
          reference=[*open_article(t), "click [link 'View history']", "stop []"], url=f"__WIKI__/article/{title_path(t)}/history")
    b.add("Show me the list of all mountains on the wiki (their category page).", difficulty="easy",
          category="navigation", reference=["click [link 'Mountains']", "stop []"], url="__WIKI__/category/Mountains")
    b.add("Search the wiki for \"salt\".", difficulty="easy", category="navigation",
          reference=["type [searchbox 'Search'] [salt] [1]", "stop []"], url="__WIKI__/search?q=salt")
    t = multi[4]
    b.add(f"Open the very first revision of the wiki article \"{t}\".", difficulty="medium", category="navigation",
          reference=[*open_article(t), "click [link 'View history']", f"click [link 'Revision {revs[t][0]['id']}']", "stop []"],
          url=f"__WIKI__/article/{title_path(t)}/revision/{revs[t][0]['id']}")

    # state changes
    def current_content(title: str, must: list[str]) -> dict:
        return {"sql": "SELECT r.content FROM wiki_pages p JOIN wiki_revisions r ON r.id = p.current_rev WHERE p.title = ?",
                "params": [title], "required_contents": {"must_include": must}}

    def edit_steps(title: str, content: str, summary: str) -> list[str]:
        return ["click [link 'Edit this page']", f"type [textbox 'Content'] [{content}] [0]",
                f"type [textbox 'Edit summary'] [{summary}] [0]", "click [button 'Save page']"]

    for c, new in ((cities[10], "1,234,000"), (cities[11], "77,500")):
        content = info[c]["content"].replace(f"* Population: {facts[c]['Population']}", f"* Population: {new}")
        b.add(f"Update the population of {c} on the wiki to {new}.", difficulty="medium", category="state", login=True,
              reference=[*open_article(c), *edit_steps(c, content, "Updated population"), "stop []"],
              db=[current_content(c, [f"Population: {new}", f"Founded: {facts[c]['Founded']}"])],
              html=[{"url": f"__WIKI__/article/{title_path(c)}", "locator": "document.querySelector('#content').outerText",
                     "required_contents": {"must_include": [f"Population: {new}"]}}])
    c = cities[12]
    content = info[c]["content"] + "\n[[Category:Port cities]]"
    b.add(f"Add the wiki article {c} to the category \"Port cities\".", difficulty="medium", category="state",
          login=True, reference=[*open_article(c), *edit_steps(c, content, "Added category"), "stop []"],
          db=[current_content(c, ["[[Category:Port cities]]", "[[Category:Cities]]"])],
          html=[{"url": "__WIKI__/category/Port_cities", "locator": "document.querySelector('#members') ? document.querySelector('#members').outerText : ''",
                 "required_contents": {"must_include": [c]}}])
    p = of["People"][8]
    sentence = f"{p} kept a detailed diary of every journey."
    content = info[p]["content"].replace("\n\n[[Category:", f" {sentence}\n\n[[Category:")
    b.add(f"Add the sentence \"{sentence}\" to the end of the History section of the wiki article about {p}.",
          difficulty="hard", category="state", login=True,
          reference=[*open_article(p), *edit_steps(p, content, "Added diary note"), "stop []"],
          db=[current_content(p, [sentence, "== History ==", f"Born: {facts[p]['Born']}"])])
    for title, text in (("Harbor of Lights", "The '''Harbor of Lights''' is a festival held every winter in [[" + cities[0] + "]]."),
                        ("Salt Road", "The '''Salt Road''' was a trade route that linked [[" + cities[1] + "]] and [[" + cities[2] + "]].")):
        b.add(f"Create a new wiki article titled \"{title}\" with the text: {text}", difficulty="medium",
              category="state", login=True,
              reference=["click [link 'Create a page']", f"type [textbox 'Page title'] [{title}] [0]",
                         "click [button 'Create']", f"type [textbox 'Content'] [{text}] [0]",
                         "type [textbox 'Edit summary'] [New article] [0]", "click [button 'Save page']", "stop []"],
              db=[current_content(title, [text])],
              html=[{"url": "last", "locator": "document.querySelector('#firstHeading') ? document.querySelector('#firstHeading').outerText : ''",
                     "required_contents": {"exact_match": title}}])
    assert len(titles) == len(set(titles))
    return b.tasks


# ---- admin -------------------------------------------------------------------------------------
def admin_tasks(conn: sqlite3.Connection) -> list[dict]:
    b = Builder("admin")
    q = conn.execute
    counts = {st: q("SELECT COUNT(*) FROM shop_orders WHERE status = ?", (st,)).fetchone()[0] for st in admin.STATUSES}
    b.add("How many orders are waiting in the Pending status?", difficulty="easy", category="info", login=True,
          reference=[f"stop [{counts['Pending']}]"], string={"must_include": [str(counts["Pending"])]})
    b.add("How many orders are being processed right now (status Processing)?", difficulty="easy", category="info",
          login=True, reference=[f"stop [{counts['Processing']}]"], string={"must_include": [str(counts["Processing"])]})
    n_out = q("SELECT COUNT(*) FROM shop_products WHERE stock = 0").fetchone()[0]
    b.add("How many products are out of stock?", difficulty="easy", category="info", login=True,
          reference=[f"stop [{n_out}]"], string={"must_include": [str(n_out)]})

    def cash(cents: int) -> str:
        text = f"{cents / 100:,.2f}"
        return f"{text} |OR| {text.replace(',', '')}" if "," in text else text

    report_steps = lambda m: ["click [link 'Sales report']", f"select [combobox 'Month'] [{admin.MONTHS[m - 1]}]",  # noqa: E731
                              "click [button 'Show report']"]
    for m in (3, 6):
        r = admin.sales_report(conn, 2025, m)
        b.add(f"What was the shop's revenue in {admin.MONTHS[m - 1]} 2025, not counting canceled orders?",
              difficulty="medium", category="info", login=True,
              reference=[*report_steps(m), f"stop [{money(r['revenue'])}]"], string={"must_include": [cash(r["revenue"])]})
    done = 0
    for m in range(1, 10):
        r = admin.sales_report(conn, 2025, m)
        top = r["top"]
        if len(top) >= 2 and top[0]["units"] > top[1]["units"] and done < 1:
            done += 1
            b.add(f"Which product sold the most units in {admin.MONTHS[m - 1]} 2025?", difficulty="medium",
                  category="info", login=True, reference=[*report_steps(m), f"stop [{top[0]['name']}]"],
                  string={"must_include": [top[0]["name"]]})
    year = admin.sales_report(conn, 2025, None)
    best = sorted(year["by_month"], key=lambda row: -row["revenue"])
    if best[0]["revenue"] > best[1]["revenue"]:
        month_name = admin.MONTHS[int(best[0]["month"][5:]) - 1]
        b.add("In which month of 2025 did the shop have its highest revenue?", difficulty="hard", category="info",
              login=True, reference=["click [link 'Sales report']", "click [button 'Show report']", f"stop [{month_name}]"],
              string={"must_include": [f"{month_name} |OR| {best[0]['month']}"]})
    customers = q("SELECT u.*, COUNT(o.id) AS n, COALESCE(SUM(CASE WHEN o.status != 'Canceled' THEN o.total END), 0) AS spent"
                  " FROM users u LEFT JOIN shop_orders o ON o.user_id = u.id WHERE u.site = 'shop' GROUP BY u.id"
                  " ORDER BY u.id").fetchall()
    c = next(x for x in customers[3:] if x["n"] >= 2 and sum(1 for y in customers if y["display_name"].split()[0] == x["display_name"].split()[0]) == 1)
    b.add(f"How many orders has the customer {c['display_name']} placed?", difficulty="medium", category="info",
          login=True, reference=["click [link 'Customers']", f"type [textbox 'Name'] [{c['display_name']}] [1]", f"stop [{c['n']}]"],
          string={"must_include": [str(c["n"])]})
    rich = sorted(customers, key=lambda x: -x["spent"])
    if rich[0]["spent"] > rich[1]["spent"]:
        b.add("Which customer has spent the most money in the shop (not counting canceled orders)?", difficulty="hard",
              category="info", login=True,
              reference=["click [link 'Customers']", "click [link 'Next page']", f"stop [{rich[0]['display_name']}]"],
              string={"must_include": [rich[0]["display_name"]]})
    products = q("SELECT * FROM shop_products ORDER BY id").fetchall()
    p = products[40]
    b.add(f"What is the current stock level of the {p['name']}?", difficulty="easy", category="info", login=True,
          reference=["click [link 'Products']", f"type [textbox 'Name or SKU'] [{p['name']}] [1]", f"stop [{p['stock']}]"],
          string={"must_include": [str(p["stock"])]})
    o = q(admin.ORDERS_SQL + " WHERE o.id = 1030").fetchone()
    b.add(f"Which customer placed order #{o['id']}?", difficulty="easy", category="info", login=True,
          reference=["click [link 'Orders']", f"type [textbox 'Customer or order number'] [{o['id']}] [1]",
                     f"click [link 'Order #{o['id']}']", f"stop [{o['customer']}]"],
          string={"must_include": [o["customer"]]})

    b.add("Show me all orders that have been shipped.", difficulty="easy", category="navigation", login=True,
          reference=["click [link 'Orders']", "select [combobox 'Status'] [Shipped]", "click [button 'Filter']", "stop []"],
          url="__ADMIN__/orders?status=Shipped")
    b.add("Open the sales report for August 2025.", difficulty="easy", category="navigation", login=True,
          reference=[*report_steps(8), "stop []"], url="__ADMIN__/reports/sales?year=2025&month=8")
    p = products[120]
    b.add(f"Open the admin edit page of the {p['name']}.", difficulty="easy", category="navigation", login=True,
          reference=["click [link 'Products']", f"type [textbox 'Name or SKU'] [{p['name']}] [1]",
                     f"click [link '{p['name']}']", "stop []"], url=f"__ADMIN__/products/{p['id']}")

    processing = q("SELECT id FROM shop_orders WHERE status = 'Processing' ORDER BY id").fetchone()["id"]
    b.add(f"Mark order #{processing} as Shipped.", difficulty="easy", category="state", login=True,
          reference=["click [link 'Orders']", f"type [textbox 'Customer or order number'] [{processing}] [1]",
                     f"click [link 'Order #{processing}']", "select [combobox 'New status'] [Shipped]",
                     "click [button 'Update status']", "stop []"],
          db=[{"sql": "SELECT status FROM shop_orders WHERE id = ?", "params": [processing], "expected": [["Shipped"]]}])
    p = products[77]
    new_price = p["price"] - 500 if p["price"] > 1000 else p["price"] + 500
    b.add(f"Change the price of the {p['name']} to {money(new_price)}.", difficulty="medium", category="state",
          login=True,
          reference=["click [link 'Products']", f"type [textbox 'Name or SKU'] [{p['name']}] [1]", f"click [link '{p['name']}']",
                     f"type [textbox 'Price'] [{new_price / 100:.2f}] [0]", "click [button 'Save product']", "stop []"],
          db=[{"sql": "SELECT price FROM shop_products WHERE id = ?", "params": [p["id"]], "expected": [[new_price]]}],
          html=[{"url": f"__SHOP__/product/{p['id']}", "locator": "document.querySelector('#price').outerText",
                 "required_contents": {"must_include": [f"{new_price / 100:.2f}"]}}])
    p = next(x for x in products[150:] if x["stock"] > 0)
    b.add(f"The {p['name']} is sold out: set its stock to 0.", difficulty="medium", category="state", login=True,
          reference=["click [link 'Products']", f"type [textbox 'Name or SKU'] [{p['name']}] [1]", f"click [link '{p['name']}']",
                     "type [spinbutton 'Stock'] [0] [0]", "click [button 'Save product']", "stop []"],
          db=[{"sql": "SELECT stock FROM shop_products WHERE id = ?", "params": [p["id"]], "expected": [[0]]}],
          html=[{"url": f"__SHOP__/product/{p['id']}", "locator": "document.querySelector('#stock').outerText",
                 "required_contents": {"exact_match": "Out of stock"}}])
    oldest = q("SELECT id FROM shop_orders WHERE status = 'Pending' ORDER BY created, id").fetchone()["id"]
    b.add("Cancel the oldest order that is still pending.", difficulty="hard", category="state", login=True,
          reference=["click [link 'Orders']", "select [combobox 'Status'] [Pending]", "click [button 'Filter']",
                     *(["click [link 'Next page']"] if counts["Pending"] > 20 else []),
                     f"click [link 'Order #{oldest}']", "select [combobox 'New status'] [Canceled]",
                     "click [button 'Update status']", "stop []"],
          db=[{"sql": "SELECT status FROM shop_orders WHERE id = ?", "params": [oldest], "expected": [["Canceled"]]}],
          html=[{"url": "last", "locator": "document.querySelector('#order-status').outerText",
                 "required_contents": {"exact_match": "Canceled"}}])
    return b.tasks


def generate(seed: int = 0) -> dict[str, list[dict]]:
    """Every site's task list, derived from the database of ``seed``."""
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    build_database(conn, seed)
    return {"shop": shop_tasks(conn), "forum": forum_tasks(conn), "wiki": wiki_tasks(conn), "admin": admin_tasks(conn)}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    stale = []
    for site, tasks in generate(0).items():
        path = OUT / f"{site}.json"
        text = json.dumps(tasks, indent=1, ensure_ascii=False) + "\n"
        if "--check" in args:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        path.write_text(text, encoding="utf-8")
        print(f"{path}: {len(tasks)} tasks")
    if stale:
        print("out of date (run python -m ponder.environments.make_tasks):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
