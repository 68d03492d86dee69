-- The draft voucher booking a statement line made for someone who may not post it or sign
-- it (bank::Booked::Drafted), so the line is not booked into a second draft meanwhile; cleared
-- when the line is matched or the draft deleted.
ALTER TABLE fin_bank_lines ADD COLUMN draft_entry_id BIGINT REFERENCES fin_entries(id);
