-- An order line is written in a unit of its own (箱, 个, 千克 …): its quantity, delivered and
-- invoiced counts and its price are in that unit, and one of it is stock_num / stock_den stock
-- units. The fraction is kept on the line, so a later change to the product's units does not
-- change what a written order means. Lines written before are in the stock unit.

ALTER TABLE sal_order_lines ADD COLUMN uom_id BIGINT REFERENCES cat_uoms(id);
ALTER TABLE sal_order_lines ADD COLUMN stock_num BIGINT NOT NULL DEFAULT 1;
ALTER TABLE sal_order_lines ADD COLUMN stock_den BIGINT NOT NULL DEFAULT 1;

UPDATE sal_order_lines SET uom_id = (SELECT p.uom_id FROM cat_products p WHERE p.id = sal_order_lines.product_id);
