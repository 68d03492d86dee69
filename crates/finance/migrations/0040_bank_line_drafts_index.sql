-- Posting a voucher looks for the statement line it was drafted from (bank::match_posted_draft),
-- and deleting a draft frees that line: both find it by its draft, through this index, which
-- holds only the few lines that have one.
CREATE INDEX fin_bank_lines_draft ON fin_bank_lines(draft_entry_id) WHERE draft_entry_id IS NOT NULL;
