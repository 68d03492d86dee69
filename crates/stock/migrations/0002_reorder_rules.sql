-- Reorder rules: keep between min_qty and max_qty of a product in a warehouse (millionths of the
-- stock unit). When a move takes the warehouse below the minimum, stock.StockBelowMinimum fires.

CREATE TABLE stk_reorder_rules (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    product_id BIGINT NOT NULL REFERENCES cat_products(id),
    warehouse_id BIGINT NOT NULL REFERENCES stk_warehouses(id),
    min_qty BIGINT NOT NULL,
    max_qty BIGINT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (company_id, product_id, warehouse_id)
);
