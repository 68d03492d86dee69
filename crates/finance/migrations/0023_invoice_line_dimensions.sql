-- An invoice or bill line names the cost centre and project its revenue or cost belongs to,
-- as a voucher line does; its voucher carries them to the ledger.
ALTER TABLE fin_invoice_lines ADD COLUMN cost_center TEXT NOT NULL DEFAULT '';
ALTER TABLE fin_invoice_lines ADD COLUMN project TEXT NOT NULL DEFAULT '';
