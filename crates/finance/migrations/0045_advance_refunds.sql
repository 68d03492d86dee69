-- Money paid ahead and given back (退还预收/预付款): the refund is a payment in the money's
-- direction that names the advance it returns; the advance keeps less to apply to invoices.
ALTER TABLE fin_payments ADD COLUMN refunds_advance BIGINT REFERENCES fin_payments(id);
CREATE INDEX fin_payments_refunds_advance ON fin_payments(refunds_advance) WHERE refunds_advance IS NOT NULL;
