"""The shop's admin panel (WebArena's "shopping_admin" in miniature): every customer's orders
with status changes, the catalogue with price and stock editing, customers, and a sales report
by month. It reads and writes the shop's tables, so a price changed here shows in the shop."""

from __future__ import annotations

import random
import sqlite3

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ponder.environments.sites.common import (
    SiteContext,
    hash_password,
    int_param,
    page_links,
    pager_for,
    price_param,
)

SCHEMA = ""  # the admin works on the shop's tables
DEFAULT_USER = "admin"
DEFAULT_PASSWORD = "password123"
STATUSES = ["Pending", "Processing", "Shipped", "Complete", "Canceled"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def seed(conn: sqlite3.Connection, rng: random.Random) -> None:
    """The admin account (the catalogue and orders come from the shop's seed)."""
    conn.execute(
        "INSERT INTO users(site, username, password, display_name, email, joined) VALUES ('admin', ?, ?, 'Store Admin',"
        " 'admin@example.com', '2023-01-01')",
        (DEFAULT_USER, hash_password(DEFAULT_PASSWORD)),
    )


ORDERS_SQL = (
    "SELECT o.*, u.display_name AS customer, u.username AS customer_username,"
    " (SELECT SUM(qty) FROM shop_order_items i WHERE i.order_id = o.id) AS n_items"
    " FROM shop_orders o JOIN users u ON u.id = o.user_id"
)


def sales_report(conn: sqlite3.Connection, year: int, month: int | None) -> dict:
    """Revenue and units of non-canceled orders in a year (or one month of it), with the top
    products by units sold (shared with the task generator)."""
    period = f"{year:04d}-{month:02d}" if month else f"{year:04d}"
    like = period + "%"
    where = "o.status != 'Canceled' AND o.created LIKE ?"
    totals = conn.execute(
        f"SELECT COUNT(*), COALESCE(SUM(o.total), 0) FROM shop_orders o WHERE {where}", (like,)
    ).fetchone()
    top = conn.execute(
        f"SELECT i.product_id, i.name, SUM(i.qty) AS units, SUM(i.qty * i.price) AS revenue FROM shop_order_items i"
        f" JOIN shop_orders o ON o.id = i.order_id WHERE {where} GROUP BY i.product_id, i.name"
        " ORDER BY units DESC, revenue DESC, i.name LIMIT 5",
        (like,),
    ).fetchall()
    by_month = conn.execute(
        f"SELECT substr(o.created, 1, 7) AS month, COUNT(*) AS orders, SUM(o.total) AS revenue FROM shop_orders o"
        f" WHERE {where} GROUP BY month ORDER BY month",
        (f"{year:04d}%",),
    ).fetchall()
    return {"period": period, "orders": totals[0], "revenue": totals[1], "top": top, "by_month": by_month}


def routes(ctx: SiteContext) -> list:
    conn = ctx.conn

    def guard(request: Request):
        return ctx.require_user(request)

    def dashboard(request: Request, form: dict) -> Response:
        user, redirect = guard(request)
        if redirect:
            return redirect
        counts = {s: conn.execute("SELECT COUNT(*) FROM shop_orders WHERE status = ?", (s,)).fetchone()[0] for s in STATUSES}
        recent = conn.execute(ORDERS_SQL + " ORDER BY o.id DESC LIMIT 5").fetchall()
        low = conn.execute("SELECT * FROM shop_products WHERE stock = 0 ORDER BY name").fetchall()
        return ctx.render(request, "dashboard.html", user=user, counts=counts, recent=recent, low=low)

    def orders(request: Request, form: dict) -> Response:
        user, redirect = guard(request)
        if redirect:
            return redirect
        status = request.query_params.get("status", "")
        q = request.query_params.get("q", "").strip()
        where, args = ["1=1"], []
        if status in STATUSES:
            where.append("o.status = ?")
            args.append(status)
        if q:
            where.append("(instr(lower(u.display_name), ?) OR CAST(o.id AS TEXT) = ?)")
            args += [q.lower(), q.lstrip("#")]
        rows = conn.execute(ORDERS_SQL + " WHERE " + " AND ".join(where) + " ORDER BY o.id DESC", args).fetchall()
        pager = pager_for(request, len(rows))
        return ctx.render(request, "orders.html", user=user, orders=rows[pager.offset: pager.offset + pager.size],
                          total=len(rows), pager=pager, links=page_links(ctx, request, "/orders", pager),
                          status_filter=status, q=q, statuses=STATUSES)

    def order(request: Request, form: dict) -> Response:
        user, redirect = guard(request)
        if redirect:
            return redirect
        oid = request.path_params["oid"]
        row = conn.execute(ORDERS_SQL + " WHERE o.id = ?", (oid,)).fetchone()
        if row is None:
            return ctx.not_found(request, "order")
        if request.method == "POST":
            new = form.get("status", "")
            if new not in STATUSES:
                return ctx.redirect(f"/orders/{oid}", msg="Choose a valid status.")
            conn.execute("UPDATE shop_orders SET status = ? WHERE id = ?", (new, oid))
            return ctx.redirect(f"/orders/{oid}", msg=f"Order #{oid} is now {new}.")
        items = conn.execute("SELECT * FROM shop_order_items WHERE order_id = ?", (oid,)).fetchall()
        return ctx.render(request, "order.html", user=user, order=row, items=items, statuses=STATUSES)

    def products(request: Request, form: dict) -> Response:
        user, redirect = guard(request)
        if redirect:
            return redirect
        q = request.query_params.get("q", "").strip()
        where, args = ["1=1"], []
        for word in q.split():
            where.append("(instr(lower(name), ?) OR instr(lower(sku), ?))")
            args += [word.lower()] * 2
        if request.query_params.get("stock") == "out":
            where.append("stock = 0")
        rows = conn.execute("SELECT * FROM shop_products WHERE " + " AND ".join(where) + " ORDER BY id", args).fetchall()
        pager = pager_for(request, len(rows))
        return ctx.render(request, "products.html", user=user, products=rows[pager.offset: pager.offset + pager.size],
                          total=len(rows), pager=pager, links=page_links(ctx, request, "/products", pager), q=q)

    def edit_product(request: Request, form: dict) -> Response:
        user, redirect = guard(request)
        if redirect:
            return redirect
        pid = request.path_params["pid"]
        product = conn.execute("SELECT * FROM shop_products WHERE id = ?", (pid,)).fetchone()
        if product is None:
            return ctx.not_found(request, "product")
        if request.method == "POST":
            price = price_param(form.get("price"))
            stock = int_param(form.get("stock"), -1, lo=-1, hi=100000)
            if price is None or price <= 0 or stock < 0:
                return ctx.redirect(f"/products/{pid}", msg="Enter a positive price and a stock of 0 or more.")
            conn.execute("UPDATE shop_products SET price = ?, stock = ? WHERE id = ?", (price, stock, pid))
            return ctx.redirect(f"/products/{pid}", msg="The product was saved.")
        return ctx.render(request, "product.html", user=user, product=product)

    def customers(request: Request, form: dict) -> Response:
        user, redirect = guard(request)
        if redirect:
            return redirect
        q = request.query_params.get("q", "").strip()
        rows = conn.execute(
            "SELECT u.*, COUNT(o.id) AS n_orders, COALESCE(SUM(CASE WHEN o.status != 'Canceled' THEN o.total END), 0) AS spent"
            " FROM users u LEFT JOIN shop_orders o ON o.user_id = u.id WHERE u.site = 'shop' AND instr(lower(u.display_name), ?)"
            " GROUP BY u.id ORDER BY u.display_name",
            (q.lower(),),
        ).fetchall()
        pager = pager_for(request, len(rows))
        return ctx.render(request, "customers.html", user=user, customers=rows[pager.offset: pager.offset + pager.size],
                          total=len(rows), pager=pager, links=page_links(ctx, request, "/customers", pager), q=q)

    def report(request: Request, form: dict) -> Response:
        user, redirect = guard(request)
        if redirect:
            return redirect
        year = int_param(request.query_params.get("year"), 2025, lo=2000, hi=2100)
        month = int_param(request.query_params.get("month"), 0, lo=0, hi=12) or None
        return ctx.render(request, "report.html", user=user, r=sales_report(conn, year, month), year=year, month=month,
                          months=MONTHS)

    e = ctx.endpoint
    return [
        Route("/", e(dashboard)),
        Route("/orders", e(orders)),
        Route("/orders/{oid:int}", e(order), methods=["GET", "POST"]),
        Route("/products", e(products)),
        Route("/products/{pid:int}", e(edit_product), methods=["GET", "POST"]),
        Route("/customers", e(customers)),
        Route("/reports/sales", e(report)),
        *ctx.login_routes(),
    ]
