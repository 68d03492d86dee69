-- Open invoices and bills carried over from the books kept before these (期初未清单据): each
-- is written with the opening voucher whose receivable or payable line holds it, open for what
-- was owed on it then, and is settled, aged and listed as any other. It has no lines (what it
-- sold is in the earlier books) and so cannot be credited here; `opening` tells it apart.
ALTER TABLE fin_invoices ADD COLUMN opening BIGINT NOT NULL DEFAULT 0;
