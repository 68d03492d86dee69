-- Receivable, payable and advance lines name their customer or supplier, and the posted
-- movement per (company, account, period, party) is kept beside fin_balances in the posting
-- transaction. The balance sheet reads them to show each party's balance on the side it
-- falls: a customer who paid in advance under 预收款项, not netted off 应收账款
-- (shared/domain/statements.md), still from balance rows, O(parties) not O(entries).
ALTER TABLE fin_entry_lines ADD COLUMN party_id BIGINT REFERENCES parties(id);

CREATE TABLE fin_party_balances (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    account_id BIGINT NOT NULL REFERENCES fin_accounts(id),
    period TEXT NOT NULL,
    party_id BIGINT NOT NULL REFERENCES parties(id),
    debit BIGINT NOT NULL DEFAULT 0,
    credit BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (company_id, account_id, period, party_id)
);

-- Vouchers posted before: the receivable, payable and advance lines of invoices', receipts',
-- payments' and applied advances' vouchers take their document's party (the control accounts of the three
-- charts: 1122 2203 1123 2202 under both Chinese charts, 1100 2150 1150 2100 in English).
-- The lookups go from a voucher to its document: indexed for the backfill only (posting
-- never asks that way, so the indexes would only slow it), then dropped.
CREATE INDEX fin_invoices_entry_backfill ON fin_invoices(entry_id);
CREATE INDEX fin_payments_entry_backfill ON fin_payments(entry_id);
CREATE INDEX fin_advance_applications_entry_backfill ON fin_advance_applications(entry_id);
UPDATE fin_entry_lines SET party_id = COALESCE(
        (SELECT i.party_id FROM fin_invoices i WHERE i.entry_id = fin_entry_lines.entry_id),
        (SELECT p.party_id FROM fin_payments p WHERE p.entry_id = fin_entry_lines.entry_id),
        (SELECT MIN(i.party_id) FROM fin_advance_applications ap JOIN fin_invoices i ON i.id = ap.invoice_id
         WHERE ap.entry_id = fin_entry_lines.entry_id))
WHERE party_id IS NULL
  AND account_id IN (SELECT a.id FROM fin_accounts a
                     WHERE substr(a.code, 1, 4) IN ('1122', '2203', '1123', '2202', '1100', '2150', '1150', '2100'));

INSERT INTO fin_party_balances (company_id, account_id, period, party_id, debit, credit)
SELECT e.company_id, l.account_id, e.period, l.party_id, SUM(l.debit), SUM(l.credit)
FROM fin_entry_lines l JOIN fin_entries e ON e.id = l.entry_id
WHERE e.status = 'posted' AND l.party_id IS NOT NULL
GROUP BY e.company_id, l.account_id, e.period, l.party_id;

DROP INDEX fin_invoices_entry_backfill;
DROP INDEX fin_payments_entry_backfill;
DROP INDEX fin_advance_applications_entry_backfill;
