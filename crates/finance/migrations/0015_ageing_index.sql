-- The ageing report sums the open invoices of each party by due date; with every column it
-- reads in the index, it never visits the invoice rows themselves.
CREATE INDEX fin_invoices_ageing ON fin_invoices(company_id, kind, status, party_id, due_date, invoice_date, total, settled);
