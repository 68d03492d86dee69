-- One party's invoices by kind and status (its receivables, its lifetime value): a company
-- with a million invoices answers from the party's few rows, not from all the company's open
-- ones.

CREATE INDEX fin_invoices_party_kind ON fin_invoices(party_id, kind, status);
