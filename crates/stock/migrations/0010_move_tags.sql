-- The cost centre and project a move's value is charged to, named by the document that moved
-- the stock (a sales order's delivery and its returns), so the cost of sales lands under the
-- order's department and project, and a reversal of the move undoes it under the same ones.
ALTER TABLE stk_moves ADD COLUMN cost_center TEXT NOT NULL DEFAULT '';
ALTER TABLE stk_moves ADD COLUMN project TEXT NOT NULL DEFAULT '';
