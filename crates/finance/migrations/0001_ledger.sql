-- The general ledger. Amounts are integers in fen. Posted entries and their lines are never
-- updated or deleted; a reversal is a new entry pointing back. fin_balances holds the posted
-- movement per (company, account, period, cost centre), updated in the posting transaction,
-- so reports read balance rows rather than entry lines.

CREATE TABLE fin_accounts (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    code TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    class TEXT NOT NULL,
    normal_side TEXT NOT NULL,
    parent_id BIGINT REFERENCES fin_accounts(id),
    archived_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (company_id, code)
);

CREATE TABLE fin_periods (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    period TEXT NOT NULL,
    status TEXT NOT NULL,
    closed_at TEXT,
    PRIMARY KEY (company_id, period)
);

CREATE TABLE fin_entries (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    period TEXT NOT NULL,
    entry_date TEXT NOT NULL,
    word TEXT NOT NULL,
    number TEXT,
    status TEXT NOT NULL,
    kind TEXT NOT NULL,
    memo TEXT NOT NULL DEFAULT '',
    reversal_of BIGINT REFERENCES fin_entries(id),
    created_at TEXT NOT NULL,
    created_by BIGINT,
    posted_at TEXT,
    posted_by BIGINT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX fin_entries_period ON fin_entries(company_id, period, status);
CREATE UNIQUE INDEX fin_entries_one_reversal ON fin_entries(reversal_of) WHERE reversal_of IS NOT NULL;

CREATE TABLE fin_entry_lines (
    id {{id}},
    entry_id BIGINT NOT NULL REFERENCES fin_entries(id),
    line_no BIGINT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES fin_accounts(id),
    debit BIGINT NOT NULL DEFAULT 0,
    credit BIGINT NOT NULL DEFAULT 0,
    cost_center TEXT NOT NULL DEFAULT '',
    memo TEXT NOT NULL DEFAULT ''
);
CREATE INDEX fin_entry_lines_entry ON fin_entry_lines(entry_id, line_no);
CREATE INDEX fin_entry_lines_account ON fin_entry_lines(account_id, entry_id);

CREATE TABLE fin_balances (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    account_id BIGINT NOT NULL REFERENCES fin_accounts(id),
    period TEXT NOT NULL,
    cost_center TEXT NOT NULL DEFAULT '',
    debit BIGINT NOT NULL DEFAULT 0,
    credit BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (company_id, account_id, period, cost_center)
);
