-- Purchasing. An order (pur_orders) buys products from a supplier into a warehouse; its lines
-- keep what was ordered, received (net of returns) and billed, in millionths of the stock
-- unit, at a unit price in fen. Orders above the company's approval threshold wait for a
-- manager. A bill (pur_bills) is a supplier invoice in finance matched against the order and
-- what was received; a mismatch beyond the tolerances holds it until approved. Requests
-- (pur_requests) collect what the reorder rules ask for, per supplier and warehouse.

CREATE TABLE pur_settings (
    company_id BIGINT PRIMARY KEY REFERENCES companies(id),
    approval_threshold BIGINT NOT NULL,
    price_tolerance_bp BIGINT NOT NULL,
    quantity_tolerance_bp BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE pur_requests (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    number TEXT NOT NULL,
    status TEXT NOT NULL,
    supplier_id BIGINT REFERENCES parties(id),
    warehouse_id BIGINT NOT NULL REFERENCES stk_warehouses(id),
    order_id BIGINT,
    created_at TEXT NOT NULL
);
CREATE INDEX pur_requests_open ON pur_requests(company_id, warehouse_id, status);

CREATE TABLE pur_request_lines (
    id {{id}},
    request_id BIGINT NOT NULL REFERENCES pur_requests(id),
    product_id BIGINT NOT NULL REFERENCES cat_products(id),
    quantity BIGINT NOT NULL,
    reason TEXT NOT NULL,
    UNIQUE (request_id, product_id)
);

CREATE TABLE pur_orders (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    number TEXT NOT NULL,
    supplier_id BIGINT NOT NULL REFERENCES parties(id),
    warehouse_id BIGINT NOT NULL REFERENCES stk_warehouses(id),
    status TEXT NOT NULL,
    order_date TEXT NOT NULL,
    memo TEXT NOT NULL DEFAULT '',
    net BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    total BIGINT NOT NULL,
    request_id BIGINT REFERENCES pur_requests(id),
    approved_by BIGINT,
    approved_at TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    created_by BIGINT,
    UNIQUE (company_id, number)
);
CREATE INDEX pur_orders_list ON pur_orders(company_id, id);

CREATE TABLE pur_order_lines (
    id {{id}},
    order_id BIGINT NOT NULL REFERENCES pur_orders(id),
    line_no BIGINT NOT NULL,
    product_id BIGINT NOT NULL REFERENCES cat_products(id),
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    vat_rate_bp BIGINT NOT NULL,
    net BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    received BIGINT NOT NULL DEFAULT 0,
    billed BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX pur_order_lines_order ON pur_order_lines(order_id, line_no);

CREATE TABLE pur_bills (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    order_id BIGINT NOT NULL REFERENCES pur_orders(id),
    invoice_id BIGINT NOT NULL REFERENCES fin_invoices(id),
    supplier_reference TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    mismatch TEXT NOT NULL DEFAULT '',
    approved_by BIGINT,
    approved_at TEXT,
    created_at TEXT NOT NULL,
    created_by BIGINT
);
CREATE INDEX pur_bills_order ON pur_bills(order_id);

CREATE TABLE pur_bill_lines (
    bill_id BIGINT NOT NULL REFERENCES pur_bills(id),
    order_line_id BIGINT NOT NULL REFERENCES pur_order_lines(id),
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    PRIMARY KEY (bill_id, order_line_id)
);
