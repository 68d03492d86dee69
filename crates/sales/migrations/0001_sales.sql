-- Sales. A quotation and its order are one record (sal_orders) whose status moves
-- quotation → confirmed → done (or cancelled). Lines keep the quantity ordered, delivered (net
-- of returns) and invoiced, in millionths of the stock unit, at a unit price in fen (VAT
-- included when the order says so) and where that price came from (a price list, or the
-- product's own price). Credit limits per customer are checked when an order is confirmed.

CREATE TABLE sal_credit_limits (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    party_id BIGINT NOT NULL REFERENCES parties(id),
    credit_limit BIGINT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (company_id, party_id)
);

CREATE TABLE sal_orders (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    number TEXT NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES parties(id),
    warehouse_id BIGINT NOT NULL REFERENCES stk_warehouses(id),
    status TEXT NOT NULL,
    order_date TEXT NOT NULL,
    tax_inclusive BIGINT NOT NULL,
    memo TEXT NOT NULL DEFAULT '',
    net BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    total BIGINT NOT NULL,
    confirmed_at TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    created_by BIGINT,
    UNIQUE (company_id, number)
);
CREATE INDEX sal_orders_list ON sal_orders(company_id, id);
CREATE INDEX sal_orders_customer ON sal_orders(company_id, customer_id, status);

CREATE TABLE sal_order_lines (
    id {{id}},
    order_id BIGINT NOT NULL REFERENCES sal_orders(id),
    line_no BIGINT NOT NULL,
    product_id BIGINT NOT NULL REFERENCES cat_products(id),
    stocked BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    price_source TEXT NOT NULL DEFAULT '',
    vat_rate_bp BIGINT NOT NULL,
    net BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    delivered BIGINT NOT NULL DEFAULT 0,
    invoiced BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sal_order_lines_order ON sal_order_lines(order_id, line_no);

CREATE TABLE sal_order_invoices (
    order_id BIGINT NOT NULL REFERENCES sal_orders(id),
    invoice_id BIGINT NOT NULL REFERENCES fin_invoices(id),
    PRIMARY KEY (order_id, invoice_id)
);
