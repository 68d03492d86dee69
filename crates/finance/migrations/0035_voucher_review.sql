-- Voucher review (凭证审核): who reviewed a hand-entered draft and when, and whether the
-- company wants its hand-entered vouchers reviewed before they are posted (0 off, 1 on).
ALTER TABLE fin_entries ADD COLUMN reviewed_by BIGINT;
ALTER TABLE fin_entries ADD COLUMN reviewed_at TEXT;
-- Who last changed a draft, who may not review it any more than its preparer.
ALTER TABLE fin_entries ADD COLUMN changed_by BIGINT;
ALTER TABLE fin_books ADD COLUMN review_vouchers BIGINT NOT NULL DEFAULT 0;
-- The drafts of every month, as the reviewer's and the bookkeeper's worklists read them.
CREATE INDEX fin_entries_drafts ON fin_entries(company_id, id) WHERE status = 'draft';
