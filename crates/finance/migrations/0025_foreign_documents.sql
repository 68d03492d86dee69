-- Invoices, bills, credit notes, receipts and payments written in a foreign currency. The
-- document's own row keeps the ledger's CNY figures; these keep the currency, the rate it was
-- written at and its figures in that currency. A CNY document has no row here. The lines of
-- such an invoice (fin_invoice_lines) are in its currency.
CREATE TABLE fin_invoice_currency (
    invoice_id BIGINT PRIMARY KEY REFERENCES fin_invoices(id),
    currency TEXT NOT NULL,
    rate TEXT NOT NULL,
    net BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    total BIGINT NOT NULL,
    settled BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE fin_payment_currency (
    payment_id BIGINT PRIMARY KEY REFERENCES fin_payments(id),
    currency TEXT NOT NULL,
    rate TEXT NOT NULL,
    amount BIGINT NOT NULL
);

-- What a foreign receipt or payment allocated to an invoice, in their currency; null in CNY.
ALTER TABLE fin_allocations ADD COLUMN foreign_amount BIGINT;
