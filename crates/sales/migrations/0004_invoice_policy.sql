-- Each order line keeps its product's invoicing policy as it was when quoted: invoiced as
-- ordered (services, goods billed in advance) or as delivered.

ALTER TABLE sal_order_lines ADD COLUMN invoice_ordered BIGINT NOT NULL DEFAULT 0;

UPDATE sal_order_lines SET invoice_ordered = 1 WHERE stocked = 0;
