"""The shop's built-in tasks, read from the seeded database: product facts, listings, orders behind
the login, navigation, and cart, checkout, review and account changes."""

from __future__ import annotations

import sqlite3

from ponder.environments.sites import shop
from ponder.environments.task_builders.common import ALEX_SHOP, Builder, money, search_steps

__all__ = ["shop_tasks"]


def shop_tasks(conn: sqlite3.Connection) -> list[dict]:
    """The shop site's tasks (JSON-ready dicts, ids ``shop-001``...) from a seeded database ``conn``."""
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
