-- Imported bank statement lines and their reconciliation with receipts and payments.
-- amount is signed: money in is positive, money out negative (fen).

CREATE TABLE fin_bank_lines (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    bank_account TEXT NOT NULL,
    line_date TEXT NOT NULL,
    amount BIGINT NOT NULL,
    counterparty TEXT NOT NULL DEFAULT '',
    reference TEXT NOT NULL DEFAULT '',
    memo TEXT NOT NULL DEFAULT '',
    batch TEXT NOT NULL,
    payment_id BIGINT REFERENCES fin_payments(id),
    matched_at TEXT,
    imported_at TEXT NOT NULL
);
CREATE INDEX fin_bank_lines_open ON fin_bank_lines(company_id, bank_account, payment_id, line_date);
CREATE UNIQUE INDEX fin_bank_lines_one_match ON fin_bank_lines(payment_id) WHERE payment_id IS NOT NULL;

-- The income statement leaves closing vouchers out; finding them by kind keeps it from reading
-- every voucher of the range.
CREATE INDEX fin_entries_kind ON fin_entries(company_id, kind, period);
