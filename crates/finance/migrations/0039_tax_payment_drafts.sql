-- The draft voucher paying a month's taxes made for someone who may not post it or sign it
-- (surtaxes::pay), so the month's taxes are not put into a second draft, or paid at once,
-- while it waits; the row goes with the draft when the draft is deleted.
CREATE TABLE fin_tax_payment_drafts (
    entry_id BIGINT PRIMARY KEY REFERENCES fin_entries(id),
    company_id BIGINT NOT NULL REFERENCES companies(id),
    period TEXT NOT NULL
);
CREATE INDEX fin_tax_payment_drafts_period ON fin_tax_payment_drafts(company_id, period);
