-- Open invoices and bills carried over from the books kept before these (期初未清单据): each
-- is written with the opening voucher whose receivable or payable line holds it, open for what
-- was owed on it then, and is settled, aged and listed as any other. It has no lines (what it
-- sold is in the earlier books) and so cannot be credited here; `opening` tells it apart.
ALTER TABLE fin_invoices ADD COLUMN opening BIGINT NOT NULL DEFAULT 0;

-- Money received or paid in advance under the earlier books and not yet applied, carried over
-- the same way on a line of 2203 (1123): unapplied, through no bank (`bank_account` empty),
-- applied to invoices as any other advance.
ALTER TABLE fin_payments ADD COLUMN opening BIGINT NOT NULL DEFAULT 0;
