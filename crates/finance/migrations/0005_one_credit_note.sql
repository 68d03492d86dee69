-- One credit note per invoice, however many clerks press the button at once.

CREATE UNIQUE INDEX fin_invoices_one_credit_note ON fin_invoices(credit_of) WHERE credit_of IS NOT NULL;
