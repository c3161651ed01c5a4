"""A synthetic e-commerce session dataset: sessions of product views, a product table (category,
brand, tags, price) and a user table (country, age), written as CSV files for the main job."""

from pathlib import Path

import numpy as np
import pandas as pd


def write_shop(folder, *, users=40, products=30, sessions=120, seed=0):
    """Write ``clicks.csv`` (user, session, product, time, price paid, device), ``products.csv`` and
    ``users.csv`` under ``folder``; return their paths. Sessions stay mostly in one category."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    categories = np.array(["shoes", "books", "garden", "toys"])
    product_ids = [f"p{j:03d}" for j in range(products)]
    product_category = categories[np.arange(products) % len(categories)]
    table = pd.DataFrame(
        {
            "product_id": product_ids,
            "category": product_category,
            "brand": [f"b{j % 7}" for j in range(products)],
            "tags": [
                "|".join(rng.choice(["new", "sale", "eco", "gift"], size=1 + j % 3, replace=False))
                for j in range(products)
            ],
            "price": np.round(rng.lognormal(3.0, 0.6, products), 2),
        }
    )
    user_ids = [f"u{j:02d}" for j in range(users)]
    user_table = pd.DataFrame({"user_id": user_ids, "country": rng.choice(["de", "fr", "uk"], users),
                               "age": rng.integers(18, 70, users).astype(float)})  # fmt: skip
    rows = []
    start = 1_700_000_000
    for session in range(sessions):
        user = user_ids[int(rng.integers(users))]
        category = categories[int(rng.integers(len(categories)))]
        pool = [p for p, c in zip(product_ids, product_category, strict=True) if c == category]
        time = start + session * 3600 + int(rng.integers(0, 600))
        for _ in range(int(rng.integers(2, 8))):
            product = (
                pool[int(rng.integers(len(pool)))] if rng.random() < 0.85 else product_ids[int(rng.integers(products))]
            )
            time += int(rng.integers(5, 300))
            rows.append((user, f"s{session:04d}", product, time, round(float(rng.uniform(5, 80)), 2),
                         str(rng.choice(["web", "app"]))))  # fmt: skip
    clicks = pd.DataFrame(rows, columns=["user_id", "session_id", "product_id", "timestamp", "paid", "device"])
    paths = folder / "clicks.csv", folder / "products.csv", folder / "users.csv"
    for frame, path in zip((clicks, table, user_table), paths, strict=True):
        frame.to_csv(path, index=False)
    return paths
