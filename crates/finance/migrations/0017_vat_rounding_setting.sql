-- Whether a company rounds VAT on each invoice line (the default) or once per rate on the
-- whole document: a company setting (shared/domain/china-tax-payroll.md), which every
-- invoice, bill, order and credit note of the company follows unless a form says otherwise.
ALTER TABLE fin_books ADD COLUMN vat_rounding TEXT NOT NULL DEFAULT 'line';
