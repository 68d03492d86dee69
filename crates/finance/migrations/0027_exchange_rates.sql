-- The exchange-rate table (汇率表): each foreign currency's rate to CNY from a day on, as the
-- accountant enters it (the bank's or the PBOC's middle rate). A document in a foreign
-- currency whose rate is left empty takes the latest rate on or before its date, and the
-- month-end revaluation takes the rate on the month's last day for a currency it is not given.
-- The primary key serves both lookups: the latest day of one currency up to a date.
CREATE TABLE fin_exchange_rates (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    currency TEXT NOT NULL,
    rate_date TEXT NOT NULL,
    rate TEXT NOT NULL,
    PRIMARY KEY (company_id, currency, rate_date)
);
