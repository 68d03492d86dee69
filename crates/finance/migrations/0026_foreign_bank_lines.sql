-- A statement of a foreign-currency bank account is in that currency: its lines' amounts are
-- in its minor units, and they match receipts and payments in it.
ALTER TABLE fin_bank_lines ADD COLUMN currency TEXT NOT NULL DEFAULT 'CNY';
