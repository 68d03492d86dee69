-- Stock is double-entry: every change of quantity is a move from one location to another, and
-- stk_quants keeps the quantity per (product, location, lot), updated in the move's transaction.
-- Virtual locations (supplier, customer, inventory loss, production, scrap) balance the books:
-- a receipt moves goods from the supplier location into a warehouse. Quantities in millionths of
-- the product's stock unit.

CREATE TABLE stk_warehouses (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (company_id, code)
);

CREATE TABLE stk_locations (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    warehouse_id BIGINT REFERENCES stk_warehouses(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    UNIQUE (company_id, code)
);

CREATE TABLE stk_moves (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    number TEXT NOT NULL,
    product_id BIGINT NOT NULL REFERENCES cat_products(id),
    quantity BIGINT NOT NULL,
    from_location_id BIGINT NOT NULL REFERENCES stk_locations(id),
    to_location_id BIGINT NOT NULL REFERENCES stk_locations(id),
    lot TEXT NOT NULL DEFAULT '',
    reference TEXT NOT NULL DEFAULT '',
    move_date TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by BIGINT
);
CREATE INDEX stk_moves_product ON stk_moves(company_id, product_id, id);

CREATE TABLE stk_quants (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    product_id BIGINT NOT NULL REFERENCES cat_products(id),
    location_id BIGINT NOT NULL REFERENCES stk_locations(id),
    lot TEXT NOT NULL DEFAULT '',
    quantity BIGINT NOT NULL,
    PRIMARY KEY (company_id, product_id, location_id, lot)
);
