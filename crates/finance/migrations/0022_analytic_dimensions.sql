-- Cost centres and projects become lists of their own: a line names one that exists and is
-- not archived, so a typing slip cannot open a new centre beside the real one in the reports.
CREATE TABLE fin_dimensions (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    dimension TEXT NOT NULL CHECK (dimension IN ('cost_center', 'project')),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    archived_at TEXT,
    PRIMARY KEY (company_id, dimension, code)
);

-- The cost centres lines already name, posted or in drafts, are listed under their own code.
INSERT INTO fin_dimensions (company_id, dimension, code, name)
SELECT DISTINCT e.company_id, 'cost_center', l.cost_center, l.cost_center
FROM fin_entry_lines l JOIN fin_entries e ON e.id = l.entry_id
WHERE l.cost_center <> '';

-- A line's project, the second dimension beside its cost centre (department), and the
-- movement per (company, account, period, project) kept in the posting transaction like
-- fin_balances, so costs by project and month read balance rows, not entries. Lines without
-- a project have no row here; closing vouchers name none, so a project's figures stay whole
-- across the month close.
ALTER TABLE fin_entry_lines ADD COLUMN project TEXT NOT NULL DEFAULT '';

CREATE TABLE fin_project_balances (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    account_id BIGINT NOT NULL REFERENCES fin_accounts(id),
    period TEXT NOT NULL,
    project TEXT NOT NULL,
    debit BIGINT NOT NULL DEFAULT 0,
    credit BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (company_id, account_id, period, project)
);
