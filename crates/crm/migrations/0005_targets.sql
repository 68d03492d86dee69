-- Sales targets per salesperson and month (fen, net of VAT), against which actual revenue,
-- orders, win rate, deal size, cycle length and pipeline coverage are reported.

CREATE TABLE crm_targets (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    month TEXT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (company_id, user_id, month)
);
