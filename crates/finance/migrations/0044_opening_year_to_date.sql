-- Books started after January: what each income and expense account moved in the year's
-- months before the books' first one (损益类科目本年累计发生额), as the earlier books' income
-- statement counted it. No balances (those months' profit is in the opening balance of 本年利润
-- or 利润分配): figures the income statement adds to a range from January that runs through
-- `through`, the month before the books' first.
CREATE TABLE fin_opening_year_to_date (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    account_id BIGINT NOT NULL REFERENCES fin_accounts(id),
    through TEXT NOT NULL,
    debit BIGINT NOT NULL,
    credit BIGINT NOT NULL,
    PRIMARY KEY (company_id, account_id)
);
