-- An order keeps the VAT rounding (per line or per document) its totals were computed with,
-- and its bills and repricing round the same way, even when the company's setting changes
-- in between. Orders written before were computed with the setting of their day, which is
-- not known; the setting of now is the best guess.
ALTER TABLE pur_orders ADD COLUMN vat_rounding TEXT NOT NULL DEFAULT 'line';
UPDATE pur_orders SET vat_rounding = COALESCE(
    (SELECT b.vat_rounding FROM fin_books b WHERE b.company_id = pur_orders.company_id), 'line');
