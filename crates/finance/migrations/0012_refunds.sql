-- A refund pays out what a credit note owes back to a customer (or takes in what a supplier's
-- credit note owes us). It is a payment in the money's direction (a customer refund is paid
-- out, so bank reconciliation matches it like any payment), pointing to the note it settles.
ALTER TABLE fin_payments ADD COLUMN refund_of BIGINT REFERENCES fin_invoices(id);
