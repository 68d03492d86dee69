-- The cost centre (a department) and project a sale belongs to. Its invoices' revenue lines
-- and its deliveries' cost of sales carry them, so a department's or project's income
-- statement shows what it sold and what the goods cost. Empty: none.
ALTER TABLE sal_orders ADD COLUMN cost_center TEXT NOT NULL DEFAULT '';
ALTER TABLE sal_orders ADD COLUMN project TEXT NOT NULL DEFAULT '';
