-- Reports. Moves by date for the turnover of a period, and the date of each product's latest
-- delivery to a customer kept beside its value, so the slow-mover list reads one row per
-- product instead of every move.

CREATE INDEX stk_moves_date ON stk_moves(company_id, move_date);

ALTER TABLE stk_valuations ADD COLUMN last_delivery TEXT;

UPDATE stk_valuations SET last_delivery = (
    SELECT MAX(m.move_date) FROM stk_moves m JOIN stk_locations t ON t.id = m.to_location_id
    WHERE m.company_id = stk_valuations.company_id AND m.product_id = stk_valuations.product_id AND t.kind = 'customer'
);
