-- Products and units of measure. A unit's size is an exact fraction of its category's
-- reference unit (ratio_num / ratio_den), so conversions are exact or refused. Prices in fen,
-- quantities in millionths, VAT in basis points; flags are 0/1.

CREATE TABLE cat_uoms (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    code TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    category TEXT NOT NULL,
    ratio_num BIGINT NOT NULL,
    ratio_den BIGINT NOT NULL,
    UNIQUE (company_id, code)
);

CREATE TABLE cat_products (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    code TEXT NOT NULL,
    barcode TEXT,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    uom_id BIGINT NOT NULL REFERENCES cat_uoms(id),
    purchase_uom_id BIGINT NOT NULL REFERENCES cat_uoms(id),
    sales_uom_id BIGINT NOT NULL REFERENCES cat_uoms(id),
    vat_rate_bp BIGINT NOT NULL,
    costing TEXT NOT NULL,
    track_lot BIGINT NOT NULL DEFAULT 0,
    track_serial BIGINT NOT NULL DEFAULT 0,
    track_expiry BIGINT NOT NULL DEFAULT 0,
    sale_price BIGINT NOT NULL DEFAULT 0,
    archived_at TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    UNIQUE (company_id, code)
);
CREATE UNIQUE INDEX cat_products_barcode ON cat_products(company_id, barcode) WHERE barcode IS NOT NULL;
CREATE INDEX cat_products_name ON cat_products(company_id, name, id);

CREATE TABLE cat_product_suppliers (
    product_id BIGINT NOT NULL REFERENCES cat_products(id),
    party_id BIGINT NOT NULL REFERENCES parties(id),
    price BIGINT NOT NULL,
    lead_days BIGINT NOT NULL,
    min_qty BIGINT NOT NULL DEFAULT 0,
    preferred BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (product_id, party_id)
);
