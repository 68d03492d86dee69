-- The ageing report on a past date counts what was open on that date: each document's open
-- amount now, plus whatever settled it after that date. Receipts and payments carry their
-- date; so do set-offs; what follows gives the rest a date or a place to look it up fast.

-- An advance applied to an invoice later than it was received (预收/预付冲抵): its own row
-- with its own date and voucher, apart from the receipt's allocations.
CREATE TABLE fin_advance_applications (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    payment_id BIGINT NOT NULL REFERENCES fin_payments(id),
    invoice_id BIGINT NOT NULL REFERENCES fin_invoices(id),
    applied_on TEXT NOT NULL,
    amount BIGINT NOT NULL,
    entry_id BIGINT NOT NULL REFERENCES fin_entries(id),
    created_at TEXT NOT NULL
);
CREATE INDEX fin_advance_applications_date ON fin_advance_applications(company_id, applied_on);
CREATE INDEX fin_advance_applications_invoice ON fin_advance_applications(invoice_id);

-- How much of its invoice a credit note settled when it was issued (its date is the note's).
-- Notes issued before this column existed: what they settle now, less what was refunded of
-- them or set off against other invoices since.
ALTER TABLE fin_invoices ADD COLUMN credit_applied BIGINT NOT NULL DEFAULT 0;
UPDATE fin_invoices SET credit_applied = -settled
    - COALESCE((SELECT SUM(a.amount) FROM fin_allocations a WHERE a.invoice_id = fin_invoices.id), 0)
    - COALESCE((SELECT SUM(s.amount) FROM fin_setoffs s WHERE s.note_id = fin_invoices.id), 0)
WHERE credit_of IS NOT NULL;

CREATE INDEX fin_payments_company_date ON fin_payments(company_id, payment_date);
CREATE INDEX fin_setoffs_company_date ON fin_setoffs(company_id, setoff_date);
CREATE INDEX fin_invoices_notes ON fin_invoices(company_id, invoice_date) WHERE credit_of IS NOT NULL;
