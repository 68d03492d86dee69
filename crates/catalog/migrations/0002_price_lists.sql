-- Price lists: for every customer, for the customers carrying a tag (a customer group), or
-- for one customer; valid between two dates; each item a price per sales unit from a minimum
-- quantity (quantity breaks). Quantities in millionths, prices in fen.

CREATE TABLE cat_price_lists (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    name TEXT NOT NULL,
    party_id BIGINT REFERENCES parties(id),
    tag TEXT,
    valid_from TEXT,
    valid_to TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE cat_price_list_items (
    price_list_id BIGINT NOT NULL REFERENCES cat_price_lists(id),
    product_id BIGINT NOT NULL REFERENCES cat_products(id),
    min_qty BIGINT NOT NULL,
    price BIGINT NOT NULL,
    PRIMARY KEY (price_list_id, product_id, min_qty)
);
CREATE INDEX cat_price_list_items_product ON cat_price_list_items(product_id);
