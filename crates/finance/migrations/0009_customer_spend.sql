-- What each customer was invoiced (VAT included, less credit notes) over the twelve calendar
-- months ending with `fin_customer_spend_window.month`: one short row a customer, so a CRM
-- segment over a million customers reads a million rows instead of every invoice. Posting a
-- customer invoice or credit note adds to it in the posting transaction; a periodic job
-- recomputes it from the invoices when a new month begins. Readers use it only while its
-- month is the current one, and read the invoices themselves otherwise.
CREATE TABLE fin_customer_spend_window (
    company_id BIGINT PRIMARY KEY REFERENCES companies(id),
    month TEXT NOT NULL
);
CREATE TABLE fin_customer_spend (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    party_id BIGINT NOT NULL REFERENCES parties(id),
    total BIGINT NOT NULL,
    PRIMARY KEY (company_id, party_id)
);
-- Covering: a segment reads (party, total) in party order without visiting the rows.
CREATE INDEX fin_customer_spend_total ON fin_customer_spend(company_id, party_id, total);
