-- Customer invoices and supplier bills, receipts and payments, and their allocation.
-- Amounts in fen; quantities in millionths; rates and discounts in basis points.

CREATE TABLE fin_invoices (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    kind TEXT NOT NULL,
    party_id BIGINT NOT NULL REFERENCES parties(id),
    number TEXT,
    status TEXT NOT NULL,
    credit_of BIGINT REFERENCES fin_invoices(id),
    invoice_date TEXT NOT NULL,
    due_date TEXT NOT NULL,
    tax_inclusive BIGINT NOT NULL,
    vat_rounding TEXT NOT NULL,
    net BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    total BIGINT NOT NULL,
    settled BIGINT NOT NULL DEFAULT 0,
    entry_id BIGINT REFERENCES fin_entries(id),
    memo TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    created_by BIGINT,
    posted_at TEXT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX fin_invoices_open ON fin_invoices(company_id, kind, status, due_date);
CREATE INDEX fin_invoices_party ON fin_invoices(party_id, invoice_date);

CREATE TABLE fin_invoice_lines (
    id {{id}},
    invoice_id BIGINT NOT NULL REFERENCES fin_invoices(id),
    line_no BIGINT NOT NULL,
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    discount_bp BIGINT NOT NULL,
    vat_rate_bp BIGINT NOT NULL,
    account TEXT NOT NULL,
    net BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    total BIGINT NOT NULL
);
CREATE INDEX fin_invoice_lines_invoice ON fin_invoice_lines(invoice_id, line_no);

CREATE TABLE fin_payments (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    kind TEXT NOT NULL,
    party_id BIGINT NOT NULL REFERENCES parties(id),
    number TEXT NOT NULL,
    payment_date TEXT NOT NULL,
    amount BIGINT NOT NULL,
    bank_account TEXT NOT NULL,
    unallocated BIGINT NOT NULL,
    entry_id BIGINT NOT NULL REFERENCES fin_entries(id),
    memo TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    created_by BIGINT
);
CREATE INDEX fin_payments_party ON fin_payments(party_id, payment_date);

CREATE TABLE fin_allocations (
    payment_id BIGINT NOT NULL REFERENCES fin_payments(id),
    invoice_id BIGINT NOT NULL REFERENCES fin_invoices(id),
    amount BIGINT NOT NULL,
    PRIMARY KEY (payment_id, invoice_id)
);
CREATE INDEX fin_allocations_invoice ON fin_allocations(invoice_id);
