-- Cash flows (现金流量表) kept as balance rows, as the ledger keeps its balances: for every
-- posted voucher that moves cash (a line on 库存现金, 银行存款 or 其他货币资金 and their
-- sub-accounts), the debits and credits of its other lines, per account, month and source
-- ('exchange' for the month-end revaluation of foreign cash, '' otherwise). A voucher balances,
-- so its other lines' credits less debits are its cash in: each counter account's credits are
-- cash received for it, its debits cash paid, and the statement reads O(accounts) rows.
-- Vouchers between two cash accounts have no other lines and move no cash.
CREATE TABLE fin_cash_flow_balances (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    account_id BIGINT NOT NULL REFERENCES fin_accounts(id),
    period TEXT NOT NULL,
    source TEXT NOT NULL,
    debit BIGINT NOT NULL DEFAULT 0,
    credit BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (company_id, account_id, period, source)
);

-- The vouchers posted before: the same rows from their lines. The cash codes are those of
-- every chart (chart::CASH_PREFIXES), which no chart uses for anything else.
INSERT INTO fin_cash_flow_balances (company_id, account_id, period, source, debit, credit)
SELECT e.company_id, l.account_id, e.period, CASE WHEN e.kind = 'revaluation' THEN 'exchange' ELSE '' END,
       SUM(l.debit), SUM(l.credit)
FROM fin_entries e
JOIN fin_entry_lines l ON l.entry_id = e.id
JOIN fin_accounts a ON a.id = l.account_id
WHERE e.status = 'posted'
AND NOT (a.code LIKE '1001%' OR a.code LIKE '1002%' OR a.code LIKE '1012%' OR a.code LIKE '1000%' OR a.code LIKE '1010%' OR a.code LIKE '1020%')
AND EXISTS (
    SELECT 1 FROM fin_entry_lines c JOIN fin_accounts ca ON ca.id = c.account_id
    WHERE c.entry_id = e.id
    AND (ca.code LIKE '1001%' OR ca.code LIKE '1002%' OR ca.code LIKE '1012%' OR ca.code LIKE '1000%' OR ca.code LIKE '1010%' OR ca.code LIKE '1020%')
)
GROUP BY e.company_id, l.account_id, e.period, CASE WHEN e.kind = 'revaluation' THEN 'exchange' ELSE '' END;
