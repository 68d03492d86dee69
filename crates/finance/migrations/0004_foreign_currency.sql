-- Entry lines in a foreign currency keep the foreign amount (in that currency's minor units)
-- and the rate used; the ledger itself stays in the company currency.

ALTER TABLE fin_entry_lines ADD COLUMN currency TEXT NOT NULL DEFAULT 'CNY';
ALTER TABLE fin_entry_lines ADD COLUMN foreign_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE fin_entry_lines ADD COLUMN rate TEXT NOT NULL DEFAULT '';
