"""The shop: a catalogue of 240 seeded products in 8 categories (brands, colours, prices,
stock, reviews and ratings), search with filters, sorting and pages, product pages, a cart,
checkout, order history and an account page. Prices are stored in cents."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta

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

SCHEMA = """
CREATE TABLE shop_categories (slug TEXT PRIMARY KEY, name TEXT NOT NULL, position INTEGER NOT NULL);
CREATE TABLE shop_products (
  id INTEGER PRIMARY KEY, sku TEXT UNIQUE NOT NULL, name TEXT UNIQUE NOT NULL, category TEXT NOT NULL,
  brand TEXT NOT NULL, color TEXT NOT NULL, price INTEGER NOT NULL, stock INTEGER NOT NULL,
  description TEXT NOT NULL, rating_sum INTEGER NOT NULL DEFAULT 0, review_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE shop_reviews (
  id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL, user_id INTEGER NOT NULL, rating INTEGER NOT NULL,
  title TEXT NOT NULL, body TEXT NOT NULL, created TEXT NOT NULL
);
CREATE TABLE shop_cart (user_id INTEGER NOT NULL, product_id INTEGER NOT NULL, qty INTEGER NOT NULL,
  PRIMARY KEY (user_id, product_id));
CREATE TABLE shop_orders (
  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, created TEXT NOT NULL, status TEXT NOT NULL,
  shipping_method TEXT NOT NULL, shipping INTEGER NOT NULL, subtotal INTEGER NOT NULL, total INTEGER NOT NULL,
  ship_name TEXT NOT NULL, ship_street TEXT NOT NULL, ship_city TEXT NOT NULL, ship_zip TEXT NOT NULL
);
CREATE TABLE shop_order_items (order_id INTEGER NOT NULL, product_id INTEGER NOT NULL, name TEXT NOT NULL,
  price INTEGER NOT NULL, qty INTEGER NOT NULL);
CREATE INDEX shop_products_category ON shop_products(category);
CREATE INDEX shop_reviews_product ON shop_reviews(product_id);
"""

#: slug -> (name, brands, product nouns with a base price in dollars, variants)
CATALOGUE: dict[str, tuple[str, list[str], list[tuple[str, float]], list[str]]] = {
    "electronics": (
        "Electronics",
        ["Voltix", "Nexa", "Auron", "Kinetik", "Lumo"],
        [("USB-C Cable", 9), ("Wireless Mouse", 24), ("Bluetooth Speaker", 45), ("Over-Ear Headphones", 79),
         ("Power Bank", 35), ("Mechanical Keyboard", 89), ("HD Webcam", 49), ("Phone Charger", 19),
         ("HDMI Cable", 12), ("Smart Watch", 149), ("Wireless Earbuds", 59), ("Portable SSD", 99)],
        ["Mini", "Pro", "Max", "Lite", "Plus", "Air", "Ultra", "Go"],
    ),
    "home-kitchen": (
        "Home & Kitchen",
        ["Casa", "Hearth", "Olivo", "Brio", "Kettlewood"],
        [("Coffee Maker", 59), ("Chef Knife", 39), ("Frying Pan", 29), ("Blender", 69), ("Toaster", 34),
         ("Cutting Board", 19), ("Electric Kettle", 39), ("Mixing Bowl Set", 24), ("Dish Rack", 22),
         ("Food Container Set", 27), ("Cast Iron Skillet", 44), ("French Press", 26)],
        ["Classic", "Compact", "Deluxe", "Everyday", "Family", "Slim", "Essential", "Premium"],
    ),
    "sports-outdoors": (
        "Sports & Outdoors",
        ["Summit", "Trailhead", "Pacefield", "Nordhaven", "Ridgeline"],
        [("Yoga Mat", 25), ("Water Bottle", 18), ("Camping Tent", 129), ("Hiking Backpack", 79),
         ("Dumbbell Set", 59), ("Running Shoes", 89), ("Bike Helmet", 49), ("Sleeping Bag", 69),
         ("Jump Rope", 12), ("Trekking Poles", 39), ("Headlamp", 22), ("Camping Stove", 54)],
        ["Trail", "Sport", "Expedition", "Light", "All-Weather", "Active", "Basecamp", "Alpine"],
    ),
    "books": (
        "Books",
        ["Mira Holt", "Jonas Pell", "Ada Whitcombe", "Rafael Ortiz", "Lena Sato"],
        [("Garden", 16), ("River", 15), ("Clockmaker", 18), ("Lighthouse", 14), ("Orchard", 17), ("Cartographer", 19),
         ("Winter", 13), ("Harbor", 15), ("Archive", 18), ("Meadow", 14), ("Observatory", 21), ("Bridge", 16)],
        ["Silent", "Last", "Hidden", "Golden", "Distant", "Forgotten", "Quiet", "Northern"],
    ),
    "clothing": (
        "Clothing",
        ["Woolridge", "Coastline", "Urbano", "Fernweh", "Halden"],
        [("T-Shirt", 19), ("Hoodie", 45), ("Rain Jacket", 89), ("Slim Jeans", 59), ("Wool Socks", 14),
         ("Baseball Cap", 22), ("Knit Scarf", 25), ("Crewneck Sweater", 55), ("Chino Shorts", 35),
         ("Flannel Shirt", 42), ("Puffer Vest", 69), ("Beanie", 17)],
        ["Organic", "Relaxed", "Heritage", "Classic", "Everyday", "Midweight", "Vintage", "Stretch"],
    ),
    "toys-games": (
        "Toys & Games",
        ["Playwell", "Tinkerbox", "Jolly Otter", "Brightmind", "Kitecraft"],
        [("Jigsaw Puzzle", 19), ("Building Blocks", 34), ("Board Game", 29), ("Plush Bear", 16),
         ("Remote Control Car", 45), ("Card Game", 12), ("Stunt Kite", 24), ("Marble Run", 39),
         ("Science Kit", 32), ("Wooden Train Set", 49), ("Magic Set", 21), ("Chess Set", 27)],
        ["Junior", "Family", "Deluxe", "Classic", "Mini", "Giant", "Travel", "Starter"],
    ),
    "beauty": (
        "Beauty",
        ["Lumiere", "Verda", "Softpetal", "Aquile", "Maren"],
        [("Face Cream", 24), ("Shampoo", 12), ("Lip Balm", 6), ("Sunscreen SPF 50", 15), ("Hair Dryer", 49),
         ("Nail Polish Set", 18), ("Body Lotion", 11), ("Face Serum", 29), ("Hand Cream", 9),
         ("Conditioner", 12), ("Makeup Brush Set", 22), ("Bath Salts", 14)],
        ["Hydrating", "Gentle", "Daily", "Repair", "Fresh", "Sensitive", "Radiance", "Botanical"],
    ),
    "office": (
        "Office Supplies",
        ["Inkwell", "Deskmate", "Papyra", "Clarion", "Ledger"],
        [("Notebook", 9), ("Gel Pens 12-Pack", 11), ("Desk Lamp", 34), ("Stapler", 14), ("Desk Organizer", 24),
         ("Sticky Notes", 7), ("Office Chair", 149), ("Whiteboard", 45), ("Paper Shredder", 79),
         ("Label Maker", 39), ("File Folders 24-Pack", 13), ("Monitor Stand", 32)],
        ["Pocket", "Executive", "Compact", "Ergonomic", "Premium", "Basic", "Studio", "Pro"],
    ),
}
COLORS = ["Black", "White", "Gray", "Navy", "Red", "Green", "Blue", "Beige", "Pink", "Orange"]
PER_CATEGORY = 30
OTHER_ORDERS = 70  # orders by the other customers (for the admin's order list and reports)
DEFAULT_USER = "alex"
DEFAULT_PASSWORD = "password123"
FIRST = ["Emma", "Liam", "Olivia", "Noah", "Ava", "Mateo", "Sofia", "Lucas", "Mia", "Ethan", "Amara", "Kenji",
         "Priya", "Tomas", "Hana", "Omar", "Chloe", "Felix", "Zara", "Ivan", "Nora", "Diego", "Leila", "Owen",
         "Ines", "Yusuf", "Greta", "Ravi", "Elena", "Jonah"]
LAST = ["Smith", "Garcia", "Chen", "Novak", "Okafor", "Larsen", "Rossi", "Kim", "Silva", "Dubois", "Patel",
        "Weber", "Tanaka", "Haddad", "Moreau"]
REVIEW_TITLES = {
    5: ["Excellent", "Love it", "Exactly what I needed", "Five stars", "Fantastic quality"],
    4: ["Very good", "Works well", "Solid purchase", "Happy with it", "Good value"],
    3: ["It's okay", "Average", "Does the job", "Mixed feelings", "Decent"],
    2: ["Disappointing", "Not great", "Expected more", "Meh", "Cheaply made"],
    1: ["Terrible", "Broke quickly", "Do not buy", "Waste of money", "Awful"],
}
REVIEW_BODIES = {
    5: "I have used it every day for weeks and it still feels brand new.",
    4: "Good quality for the price, with one or two small quirks.",
    3: "It works, but nothing about it stands out.",
    2: "The finish is rough and it feels flimsy in the hand.",
    1: "It stopped working after a few days and support never answered.",
}
SHIPPING = {"standard": ("Standard (5-7 days)", 500), "express": ("Express (1-2 days)", 1500)}
FREE_SHIPPING_FROM = 10000  # standard shipping is free from $100


def seed(conn: sqlite3.Connection, rng: random.Random) -> None:
    """Fill the shop tables deterministically from ``rng``."""
    users = [(DEFAULT_USER, "Alex Morgan", "alex.morgan@example.com", "14 Elm Street", "Springfield", "49201", "555-0142")]
    for i in range(30):
        first, last = FIRST[i], rng.choice(LAST)
        users.append((f"{first.lower()}{last[0].lower()}", f"{first} {last}", f"{first.lower()}.{last.lower()}@example.com",
                      f"{rng.randint(1, 99)} {rng.choice(['Oak', 'Pine', 'Maple', 'Cedar', 'Birch'])} Road",
                      rng.choice(["Riverton", "Lakeside", "Fairview", "Hillcrest", "Brookfield"]), f"{rng.randint(10000, 99999)}",
                      f"555-{rng.randint(1000, 9999)}"))
    user_ids = []
    for username, name, email, street, city, zip_, phone in users:
        cur = conn.execute(
            "INSERT INTO users(site, username, password, display_name, email, street, city, zip, phone, bio, joined)"
            " VALUES ('shop', ?, ?, ?, ?, ?, ?, ?, ?, '', '2024-01-01')",
            (username, hash_password(DEFAULT_PASSWORD), name, email, street, city, zip_, phone),
        )
        user_ids.append(cur.lastrowid)
    alex, reviewers = user_ids[0], user_ids[1:]

    for pos, (slug, (cat_name, _, _, _)) in enumerate(CATALOGUE.items()):
        conn.execute("INSERT INTO shop_categories VALUES (?, ?, ?)", (slug, cat_name, pos))

    base = datetime(2025, 11, 1, 9, 0)
    product_id = 0
    for slug, (_, brands, nouns, variants) in CATALOGUE.items():
        names: set[str] = set()
        while len(names) < PER_CATEGORY:
            brand = rng.choice(brands)
            noun, base_price = rng.choice(nouns)
            variant = rng.choice(variants)
            if slug == "books":
                name = f"The {variant} {noun}"
            else:
                name = f"{brand} {variant} {noun}"
            if name in names:
                continue
            names.add(name)
            product_id += 1
            price = int(round(base_price * rng.uniform(0.7, 1.5))) * 100 + rng.choice([0, 49, 95, 99])
            stock = 0 if rng.random() < 0.1 else rng.randint(1, 120)
            color = rng.choice(COLORS)
            if slug == "books":
                description = f"A novel by {brand}. {rng.choice(['Shortlisted for the Meridian Prize.', 'A slow-burning mystery.', 'A family saga across three generations.', 'Told in letters and diary entries.'])}"
            else:
                description = f"The {name} in {color.lower()}. {rng.choice(['Backed by a two-year warranty.', 'Designed for everyday use.', 'Made from recycled materials.', 'Our best-selling model this year.'])}"
            sku = f"{slug[:2].upper()}-{1000 + product_id}"
            conn.execute(
                "INSERT INTO shop_products(id, sku, name, category, brand, color, price, stock, description)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (product_id, sku, name, slug, brand, color, price, stock, description),
            )
            quality = rng.choice([2, 3, 4, 4, 5, 5])
            for r in range(rng.choice([0, 1, 2, 3, 3, 4, 5, 6, 8])):
                rating = max(1, min(5, quality + rng.choice([-2, -1, 0, 0, 0, 1])))
                author = rng.choice(reviewers)
                created = (base - timedelta(days=rng.randint(1, 600), minutes=r * 7 + product_id)).strftime("%Y-%m-%d %H:%M")
                conn.execute(
                    "INSERT INTO shop_reviews(product_id, user_id, rating, title, body, created) VALUES (?, ?, ?, ?, ?, ?)",
                    (product_id, author, rating, rng.choice(REVIEW_TITLES[rating]), REVIEW_BODIES[rating], created),
                )
                conn.execute(
                    "UPDATE shop_products SET rating_sum = rating_sum + ?, review_count = review_count + 1 WHERE id = ?",
                    (rating, product_id),
                )

    # Order history for everyone (Alex has six orders: one pending, one canceled), numbered
    # from #1001 in date order, and two things already in Alex's cart.
    n_products = product_id
    plans = [(alex, status, datetime(2025, 1, 10, 14, 30) + timedelta(days=52 * k + rng.randint(0, 9)),
              "express" if k in (2, 4) else "standard")
             for k, status in enumerate(["Complete", "Complete", "Shipped", "Canceled", "Complete", "Pending"])]
    for _ in range(OTHER_ORDERS):
        when = datetime(2025, 1, 3, 8, 0) + timedelta(days=rng.randint(0, 300), minutes=rng.randint(0, 1400))
        status = rng.choice(["Complete"] * 6 + ["Canceled", "Shipped"]) if when < datetime(2025, 10, 1) else rng.choice(
            ["Pending", "Processing", "Shipped"])
        plans.append((rng.choice(reviewers), status, when, rng.choice(["standard", "standard", "express"])))
    plans.sort(key=lambda plan: plan[2])
    for order_id, (user_id, status, when, method) in enumerate(plans, start=1001):
        items = rng.sample(range(1, n_products + 1), rng.randint(1, 4))
        rows = []
        for pid in items:
            p = conn.execute("SELECT name, price FROM shop_products WHERE id = ?", (pid,)).fetchone()
            rows.append((pid, p[0], p[1], rng.choice([1, 1, 1, 2, 3])))
        subtotal = sum(price * qty for _, _, price, qty in rows)
        shipping = shipping_cost(method, subtotal)
        u = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        conn.execute(
            "INSERT INTO shop_orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (order_id, user_id, when.strftime("%Y-%m-%d %H:%M"), status, method, shipping, subtotal, subtotal + shipping,
             u[4], u[6], u[7], u[8]),
        )
        conn.executemany("INSERT INTO shop_order_items VALUES (?, ?, ?, ?, ?)", [(order_id, *row) for row in rows])
    for pid in rng.sample(range(1, n_products + 1), 2):
        conn.execute("INSERT INTO shop_cart VALUES (?, ?, ?)", (alex, pid, rng.choice([1, 2])))


def shipping_cost(method: str, subtotal: int) -> int:
    """Shipping in cents: standard is free from $100, express always costs $15."""
    if method == "standard" and subtotal >= FREE_SHIPPING_FROM:
        return 0
    return SHIPPING[method][1]


SORTS = {
    "relevance": ("Relevance", "p.id"),
    "price_asc": ("Price: low to high", "p.price ASC, p.id"),
    "price_desc": ("Price: high to low", "p.price DESC, p.id"),
    "rating": ("Average rating", "avg_rating DESC, p.review_count DESC, p.id"),
    "reviews": ("Most reviews", "p.review_count DESC, p.id"),
    "name": ("Name", "p.name COLLATE NOCASE, p.id"),
}
RATINGS = {"": "Any rating", "4": "4 stars & up", "3": "3 stars & up", "2": "2 stars & up", "1": "1 star & up"}


def search_products(conn: sqlite3.Connection, params: dict[str, str]) -> tuple[str, list]:
    """The WHERE clause and arguments for a listing (shared with the task generator)."""
    where, args = ["1=1"], []
    for word in params.get("q", "").split():
        where.append("(instr(lower(p.name), ?) OR instr(lower(p.brand), ?) OR instr(lower(c.name), ?))")
        args += [word.lower()] * 3
    if params.get("category"):
        where.append("p.category = ?")
        args.append(params["category"])
    lo, hi = price_param(params.get("min_price")), price_param(params.get("max_price"))
    if lo is not None:
        where.append("p.price >= ?")
        args.append(lo)
    if hi is not None:
        where.append("p.price <= ?")
        args.append(hi)
    if params.get("min_rating") in ("1", "2", "3", "4"):
        where.append("p.review_count > 0 AND p.rating_sum >= ? * p.review_count")
        args.append(int(params["min_rating"]))
    if params.get("in_stock"):
        where.append("p.stock > 0")
    return " AND ".join(where), args


LISTING_SQL = (
    "SELECT p.*, c.name AS category_name,"
    " CASE WHEN p.review_count = 0 THEN 0 ELSE ROUND(1.0 * p.rating_sum / p.review_count, 1) END AS avg_rating"
    " FROM shop_products p JOIN shop_categories c ON c.slug = p.category WHERE {where} ORDER BY {order}"
)


def list_products(conn: sqlite3.Connection, params: dict[str, str]) -> list[sqlite3.Row]:
    """Every product a listing with these parameters shows, in display order."""
    where, args = search_products(conn, params)
    sort = params.get("sort") or "relevance"
    order = SORTS.get(sort, SORTS["relevance"])[1]
    words = params.get("q", "").split()
    if sort == "relevance" and words:
        # relevance: products with more of the words in their name first (others matched by brand
        # or category), then the whole phrase in the name, then catalogue order
        order = ("(" + " + ".join(["(instr(lower(p.name), ?) > 0)"] * len(words)) + ") DESC, (instr(lower(p.name), ?) > 0) DESC, " + order)
        args = [*args, *[w.lower() for w in words], " ".join(words).lower()]
    return conn.execute(LISTING_SQL.format(where=where, order=order), args).fetchall()


def routes(ctx: SiteContext) -> list:
    conn = ctx.conn

    def categories() -> list[sqlite3.Row]:
        return conn.execute(
            "SELECT c.*, (SELECT COUNT(*) FROM shop_products p WHERE p.category = c.slug) AS n"
            " FROM shop_categories c ORDER BY position"
        ).fetchall()

    def cart_count(user) -> int:
        if user is None:
            return 0
        return conn.execute("SELECT COALESCE(SUM(qty), 0) FROM shop_cart WHERE user_id = ?", (user["id"],)).fetchone()[0]

    def page(request: Request, template: str, **values):
        user = ctx.current_user(request)
        return ctx.render(request, template, user=user, cart_count=cart_count(user), **values)

    def home(request: Request, form: dict) -> Response:
        featured = conn.execute(
            LISTING_SQL.format(where="p.review_count >= 5", order="avg_rating DESC, p.review_count DESC, p.id") + " LIMIT 6"
        ).fetchall()
        return page(request, "home.html", categories=categories(), featured=featured)

    def listing(request: Request, form: dict, category: sqlite3.Row | None = None) -> Response:
        params = {k: v for k, v in request.query_params.items()}
        if category is not None:
            params["category"] = category["slug"]
        rows = list_products(conn, params)
        pager = pager_for(request, len(rows))
        path = request.url.path[len(ctx.prefix):]
        return page(
            request, "listing.html", products=rows[pager.offset: pager.offset + pager.size], pager=pager,
            links=page_links(ctx, request, path, pager), params=params, category=category, categories=categories(),
            sorts=SORTS, ratings=RATINGS, total=len(rows),
        )

    def category_page(request: Request, form: dict) -> Response:
        cat = conn.execute("SELECT * FROM shop_categories WHERE slug = ?", (request.path_params["slug"],)).fetchone()
        if cat is None:
            return ctx.not_found(request, "category")
        return listing(request, form, cat)

    def product_row(pid) -> sqlite3.Row | None:
        return conn.execute(LISTING_SQL.format(where="p.id = ?", order="p.id"), (pid,)).fetchone()

    def product_page(request: Request, form: dict) -> Response:
        product = product_row(request.path_params["pid"])
        if product is None:
            return ctx.not_found(request, "product")
        reviews = conn.execute(
            "SELECT r.*, u.display_name AS author FROM shop_reviews r JOIN users u ON u.id = r.user_id"
            " WHERE r.product_id = ? ORDER BY r.created DESC, r.id DESC",
            (product["id"],),
        ).fetchall()
        return page(request, "product.html", product=product, reviews=reviews)

    def add_review(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        pid = request.path_params["pid"]
        if product_row(pid) is None:
            return ctx.not_found(request, "product")
        rating = int_param(form.get("rating"), 0, lo=0, hi=5)
        title, body = form.get("title", "").strip(), form.get("body", "").strip()
        if not rating or not title or not body:
            return ctx.redirect(f"/product/{pid}", msg="Please give a rating, a title and a review.")
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
        conn.execute(
            "INSERT INTO shop_reviews(product_id, user_id, rating, title, body, created) VALUES (?, ?, ?, ?, ?, ?)",
            (pid, user["id"], rating, title, body, now),
        )
        conn.execute(
            "UPDATE shop_products SET rating_sum = rating_sum + ?, review_count = review_count + 1 WHERE id = ?",
            (rating, pid),
        )
        return ctx.redirect(f"/product/{pid}", msg="Thank you for your review.")

    def cart_items(user) -> list[sqlite3.Row]:
        return conn.execute(
            "SELECT c.qty, p.* FROM shop_cart c JOIN shop_products p ON p.id = c.product_id WHERE c.user_id = ?"
            " ORDER BY p.name",
            (user["id"],),
        ).fetchall()

    def cart_page(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        items = cart_items(user)
        return page(request, "cart.html", items=items, subtotal=sum(i["price"] * i["qty"] for i in items))

    def cart_add(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        pid = int_param(form.get("product_id"), 0, lo=0)
        product = product_row(pid)
        if product is None:
            return ctx.redirect("/cart", msg="That product does not exist.")
        qty = int_param(form.get("qty"), 1, lo=1, hi=99)
        if product["stock"] <= 0:
            return ctx.redirect(f"/product/{pid}", msg="Sorry, this product is out of stock.")
        conn.execute(
            "INSERT INTO shop_cart VALUES (?, ?, ?) ON CONFLICT(user_id, product_id) DO UPDATE SET qty = qty + excluded.qty",
            (user["id"], pid, qty),
        )
        return ctx.redirect("/cart", msg=f"Added {qty} x {product['name']} to your cart.")

    def cart_update(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        pid = int_param(form.get("product_id"), 0, lo=0)
        qty = int_param(form.get("qty"), 0, lo=0, hi=99)
        if form.get("remove") or qty == 0:
            conn.execute("DELETE FROM shop_cart WHERE user_id = ? AND product_id = ?", (user["id"], pid))
            return ctx.redirect("/cart", msg="Item removed from your cart.")
        conn.execute("UPDATE shop_cart SET qty = ? WHERE user_id = ? AND product_id = ?", (qty, user["id"], pid))
        return ctx.redirect("/cart", msg="Cart updated.")

    def checkout(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        items = cart_items(user)
        if not items:
            return ctx.redirect("/cart", msg="Your cart is empty.")
        subtotal = sum(i["price"] * i["qty"] for i in items)
        if request.method == "GET":
            return page(request, "checkout.html", items=items, subtotal=subtotal, shipping=SHIPPING,
                        free_from=FREE_SHIPPING_FROM, error="")
        method = form.get("shipping_method", "standard")
        fields = {k: form.get(k, "").strip() for k in ("ship_name", "ship_street", "ship_city", "ship_zip")}
        if method not in SHIPPING or not all(fields.values()):
            return page(request, "checkout.html", items=items, subtotal=subtotal, shipping=SHIPPING,
                        free_from=FREE_SHIPPING_FROM, error="Please fill in every address field.", status=400)
        shipping = shipping_cost(method, subtotal)
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
        order_id = conn.execute("SELECT COALESCE(MAX(id), 1000) + 1 FROM shop_orders").fetchone()[0]
        conn.execute(
            "INSERT INTO shop_orders VALUES (?, ?, ?, 'Pending', ?, ?, ?, ?, ?, ?, ?, ?)",
            (order_id, user["id"], now, method, shipping, subtotal, subtotal + shipping, fields["ship_name"],
             fields["ship_street"], fields["ship_city"], fields["ship_zip"]),
        )
        conn.executemany(
            "INSERT INTO shop_order_items VALUES (?, ?, ?, ?, ?)",
            [(order_id, i["id"], i["name"], i["price"], i["qty"]) for i in items],
        )
        for i in items:
            conn.execute("UPDATE shop_products SET stock = MAX(0, stock - ?) WHERE id = ?", (i["qty"], i["id"]))
        conn.execute("DELETE FROM shop_cart WHERE user_id = ?", (user["id"],))
        return ctx.redirect(f"/orders/{order_id}", msg=f"Thank you! Your order #{order_id} has been placed.")

    def orders_page(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        orders = conn.execute(
            "SELECT o.*, (SELECT SUM(qty) FROM shop_order_items i WHERE i.order_id = o.id) AS n_items"
            " FROM shop_orders o WHERE user_id = ? ORDER BY o.id DESC",
            (user["id"],),
        ).fetchall()
        return page(request, "orders.html", orders=orders)

    def order_page(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        order = conn.execute(
            "SELECT * FROM shop_orders WHERE id = ? AND user_id = ?", (request.path_params["oid"], user["id"])
        ).fetchone()
        if order is None:
            return ctx.not_found(request, "order")
        items = conn.execute("SELECT * FROM shop_order_items WHERE order_id = ?", (order["id"],)).fetchall()
        return page(request, "order.html", order=order, items=items, shipping=SHIPPING)

    def cancel_order(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        oid = request.path_params["oid"]
        cur = conn.execute(
            "UPDATE shop_orders SET status = 'Canceled' WHERE id = ? AND user_id = ? AND status = 'Pending'",
            (oid, user["id"]),
        )
        msg = f"Order #{oid} has been canceled." if cur.rowcount else "Only pending orders can be canceled."
        return ctx.redirect(f"/orders/{oid}", msg=msg)

    def account(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        if request.method == "POST":
            fields = {k: form.get(k, "").strip() for k in ("display_name", "email", "street", "city", "zip", "phone")}
            if not fields["display_name"] or "@" not in fields["email"]:
                return ctx.redirect("/account", msg="A name and a valid email are required.")
            conn.execute(
                "UPDATE users SET display_name = :display_name, email = :email, street = :street, city = :city,"
                " zip = :zip, phone = :phone WHERE id = :id",
                {**fields, "id": user["id"]},
            )
            return ctx.redirect("/account", msg="Your account has been updated.")
        return page(request, "account.html")

    e = ctx.endpoint
    return [
        Route("/", e(home)),
        Route("/search", e(listing)),
        Route("/category/{slug}", e(category_page)),
        Route("/product/{pid:int}", e(product_page)),
        Route("/product/{pid:int}/review", e(add_review), methods=["POST"]),
        Route("/cart", e(cart_page)),
        Route("/cart/add", e(cart_add), methods=["POST"]),
        Route("/cart/update", e(cart_update), methods=["POST"]),
        Route("/checkout", e(checkout), methods=["GET", "POST"]),
        Route("/orders", e(orders_page)),
        Route("/orders/{oid:int}", e(order_page)),
        Route("/orders/{oid:int}/cancel", e(cancel_order), methods=["POST"]),
        Route("/account", e(account), methods=["GET", "POST"]),
        *ctx.login_routes(),
    ]
