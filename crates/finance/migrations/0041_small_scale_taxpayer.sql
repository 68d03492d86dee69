-- Whether the company is a general VAT taxpayer or a small-scale one (小规模纳税人): a
-- small-scale taxpayer's bills cost their VAT, its sales are charged at the collection rates,
-- and a month of small sales owes no VAT.
ALTER TABLE fin_books ADD COLUMN taxpayer TEXT NOT NULL DEFAULT 'general';
