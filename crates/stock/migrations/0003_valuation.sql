-- Valuation. A move that brings goods into the warehouses from outside, or takes them out,
-- carries its value in fen (`value`, zero for transfers between warehouses) and, when the
-- company keeps its books here, the ledger entry it posted. stk_valuations keeps quantity and
-- value per product, updated in the move's transaction, so the valuation report reads one row
-- per product. FIFO products also keep what is left of each receipt in stk_layers.

ALTER TABLE stk_moves ADD COLUMN value BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stk_moves ADD COLUMN entry_id BIGINT;
ALTER TABLE stk_moves ADD COLUMN reversal_of BIGINT;

CREATE TABLE stk_valuations (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    product_id BIGINT NOT NULL REFERENCES cat_products(id),
    quantity BIGINT NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (company_id, product_id)
);

CREATE TABLE stk_layers (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    product_id BIGINT NOT NULL REFERENCES cat_products(id),
    move_id BIGINT NOT NULL REFERENCES stk_moves(id),
    quantity BIGINT NOT NULL,
    value BIGINT NOT NULL
);
CREATE INDEX stk_layers_open ON stk_layers(company_id, product_id, id) WHERE quantity > 0;

CREATE UNIQUE INDEX stk_moves_one_reversal ON stk_moves(reversal_of) WHERE reversal_of IS NOT NULL;
