-- One open request per warehouse and supplier: two alerts handled at once cannot open two;
-- the second fails, is delivered again, and adds to the first.
CREATE UNIQUE INDEX pur_requests_one_open ON pur_requests(company_id, warehouse_id, COALESCE(supplier_id, 0)) WHERE status = 'open';
