-- Lots: each lot of a product received, with its expiry date when the product tracks expiry,
-- so deliveries can take the lot that expires first (FEFO).

CREATE TABLE stk_lots (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    product_id BIGINT NOT NULL REFERENCES cat_products(id),
    lot TEXT NOT NULL,
    expiry_date TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (company_id, product_id, lot)
);

INSERT INTO stk_lots (company_id, product_id, lot, created_at)
SELECT DISTINCT company_id, product_id, lot, '2000-01-01T00:00:00Z' FROM stk_quants WHERE lot <> '';
