-- A reorder rule remembers whether it has alerted for the current fall below its minimum, so
-- only the crossing alerts, whatever moved the forecast (a delivery, a reservation); rules
-- already below their minimum count as alerted.

ALTER TABLE stk_reorder_rules ADD COLUMN alerted BIGINT NOT NULL DEFAULT 0;

UPDATE stk_reorder_rules SET alerted = 1 WHERE min_qty > (
    COALESCE((SELECT SUM(q.quantity) FROM stk_quants q JOIN stk_locations l ON l.id = q.location_id
        WHERE q.company_id = stk_reorder_rules.company_id AND q.product_id = stk_reorder_rules.product_id
          AND l.warehouse_id = stk_reorder_rules.warehouse_id AND l.kind = 'internal'), 0)
    - COALESCE((SELECT r.reserved FROM stk_reservations r WHERE r.company_id = stk_reorder_rules.company_id
        AND r.product_id = stk_reorder_rules.product_id AND r.warehouse_id = stk_reorder_rules.warehouse_id), 0)
);
