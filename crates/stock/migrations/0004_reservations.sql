-- Reservations: how much of a product confirmed sales orders hold in a warehouse, kept as one
-- row per (product, warehouse) so that reserving locks that row: concurrent orders for the
-- last pieces queue on it and the second finds them taken.

CREATE TABLE stk_reservations (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    product_id BIGINT NOT NULL REFERENCES cat_products(id),
    warehouse_id BIGINT NOT NULL REFERENCES stk_warehouses(id),
    reserved BIGINT NOT NULL,
    PRIMARY KEY (company_id, product_id, warehouse_id)
);
