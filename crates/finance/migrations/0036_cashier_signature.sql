-- The cashier's signature (出纳签字): who signed a hand-made draft that moves cash and when,
-- and whether the company wants such vouchers signed by the cashier before they are posted
-- (0 off, 1 on).
ALTER TABLE fin_entries ADD COLUMN cashier_by BIGINT;
ALTER TABLE fin_entries ADD COLUMN cashier_at TEXT;
ALTER TABLE fin_books ADD COLUMN cashier_signs BIGINT NOT NULL DEFAULT 0;
