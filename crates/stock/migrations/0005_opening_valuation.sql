-- Stock that was on hand before moves were valued enters the valuation with its quantity and a
-- value of zero, so the first delivery after the upgrade finds it (an accountant books the
-- opening value with a count or a revaluation).

INSERT INTO stk_valuations (company_id, product_id, quantity, value)
SELECT q.company_id, q.product_id, SUM(q.quantity), 0 FROM stk_quants q JOIN stk_locations l ON l.id = q.location_id
WHERE l.kind = 'internal'
  AND NOT EXISTS (SELECT 1 FROM stk_valuations v WHERE v.company_id = q.company_id AND v.product_id = q.product_id)
GROUP BY q.company_id, q.product_id
HAVING SUM(q.quantity) <> 0;
