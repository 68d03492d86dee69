-- What a sales order invoices of a product: what was delivered (goods, by default) or what was
-- ordered (services, which are never delivered, and goods billed in advance).

ALTER TABLE cat_products ADD COLUMN invoice_policy TEXT NOT NULL DEFAULT 'delivered';

UPDATE cat_products SET invoice_policy = 'ordered' WHERE kind = 'service';
