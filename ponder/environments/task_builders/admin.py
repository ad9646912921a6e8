"""The admin panel's built-in tasks, read from the seeded database: order counts, sales reports,
customers, navigation, and order status, price and stock changes."""

from __future__ import annotations

import sqlite3

from ponder.environments.sites import admin
from ponder.environments.task_builders.common import Builder, money

__all__ = ["admin_tasks"]


def admin_tasks(conn: sqlite3.Connection) -> list[dict]:
    """The admin site's tasks (JSON-ready dicts, ids ``admin-001``...) from a seeded database ``conn``."""
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
