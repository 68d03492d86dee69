-- A product's ledger reads its moves in date order: with the date index of the reports alone,
-- SQLite's planner walked every move of the company by date to find one product's; this index
-- serves the product and the order at once.

CREATE INDEX stk_moves_product_date ON stk_moves(company_id, product_id, move_date, id);
