-- A set-off (冲抵) applies what a credit note owes to another open invoice of the same party:
-- no money moves and no voucher is posted, since both sit on the same receivable (or payable)
-- account; the note owes less and the invoice is open for less.
CREATE TABLE fin_setoffs (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    note_id BIGINT NOT NULL REFERENCES fin_invoices(id),
    invoice_id BIGINT NOT NULL REFERENCES fin_invoices(id),
    setoff_date TEXT NOT NULL,
    amount BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    created_by BIGINT
);
CREATE INDEX fin_setoffs_note ON fin_setoffs(note_id);
CREATE INDEX fin_setoffs_invoice ON fin_setoffs(invoice_id);
