-- An invoice line may name the catalog product it sells or buys (free-text lines name none).
ALTER TABLE fin_invoice_lines ADD COLUMN product_id BIGINT REFERENCES cat_products(id);
