-- A statement line can be matched with a voucher as well as with a receipt or payment: the
-- tax paid, the wages sent, a bank fee, money moved between the company's own accounts, which
-- are vouchers with no payment record. Each voucher is matched at most once on each bank
-- account: a transfer between two of the company's accounts is on both their statements.
ALTER TABLE fin_bank_lines ADD COLUMN entry_id BIGINT REFERENCES fin_entries(id);
CREATE UNIQUE INDEX fin_bank_lines_one_voucher ON fin_bank_lines(entry_id, bank_account) WHERE entry_id IS NOT NULL;
