-- A delivery may be prepared in steps before it leaves (拣货 → 包装 → 发运): picked, with its
-- pick lines (an order line, a quantity in the line's unit, a lot) while the goods stay
-- reserved for the order; packed, with the number of parcels and their weight (millionths of a
-- kilogram); then shipped, when the stock moves are made and valued. A delivery made in one go
-- is shipped at once. A delivery not yet shipped can be cancelled.

ALTER TABLE sal_deliveries ADD COLUMN packages BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sal_deliveries ADD COLUMN weight BIGINT NOT NULL DEFAULT 0;

CREATE TABLE sal_pick_lines (
    delivery_id BIGINT NOT NULL REFERENCES sal_deliveries(id),
    order_line_id BIGINT NOT NULL REFERENCES sal_order_lines(id),
    quantity BIGINT NOT NULL,
    lot TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sal_pick_lines_delivery ON sal_pick_lines(delivery_id);
CREATE INDEX sal_pick_lines_order_line ON sal_pick_lines(order_line_id);
