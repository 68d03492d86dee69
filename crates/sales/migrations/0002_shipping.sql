-- Shipping. Each delivery of an order is a document (DO/2026/00001) with the lines it moved,
-- the carrier and tracking number, and a timeline of tracking events (shipped, in transit,
-- delivered, exception) entered by hand, imported from a carrier's CSV, or sent by the carrier
-- to a signed callback. The delivery's status is that of its latest event.

CREATE TABLE sal_carriers (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    webhook_secret TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (company_id, code)
);

CREATE TABLE sal_deliveries (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    order_id BIGINT NOT NULL REFERENCES sal_orders(id),
    number TEXT NOT NULL,
    delivery_date TEXT NOT NULL,
    carrier_id BIGINT REFERENCES sal_carriers(id),
    tracking_number TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by BIGINT,
    UNIQUE (company_id, number)
);
CREATE INDEX sal_deliveries_order ON sal_deliveries(order_id);
CREATE INDEX sal_deliveries_tracking ON sal_deliveries(company_id, tracking_number);

CREATE TABLE sal_delivery_lines (
    delivery_id BIGINT NOT NULL REFERENCES sal_deliveries(id),
    order_line_id BIGINT NOT NULL REFERENCES sal_order_lines(id),
    quantity BIGINT NOT NULL,
    move_number TEXT NOT NULL
);
CREATE INDEX sal_delivery_lines_delivery ON sal_delivery_lines(delivery_id);

CREATE TABLE sal_tracking_events (
    id {{id}},
    delivery_id BIGINT NOT NULL REFERENCES sal_deliveries(id),
    status TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    location TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX sal_tracking_events_delivery ON sal_tracking_events(delivery_id, occurred_at);
