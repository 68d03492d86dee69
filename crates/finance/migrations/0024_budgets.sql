-- Budgets per cost centre or project (dimension and code, as on fin_dimensions), cost or
-- expense account and month, in fen. A month without a row has no budget. Set a year at a
-- time (`finance::budgets::set_budget`), read over a range beside the spending.
CREATE TABLE fin_budgets (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    dimension TEXT NOT NULL,
    code TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES fin_accounts(id),
    period TEXT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (company_id, dimension, code, account_id, period)
);
CREATE INDEX fin_budgets_period ON fin_budgets(company_id, dimension, period);
