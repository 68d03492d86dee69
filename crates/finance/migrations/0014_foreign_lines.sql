-- Month-end revaluation reads only the lines in a foreign currency; this keeps it proportional
-- to those lines rather than to the whole ledger.
CREATE INDEX fin_entry_lines_foreign ON fin_entry_lines(currency, account_id) WHERE currency <> 'CNY';
