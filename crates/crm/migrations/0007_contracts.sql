-- Contracts and collection (合同与回款): a contract's value is collected in instalments; each
-- instalment, when due, becomes a customer invoice in finance, and its collection status is
-- read from that invoice's settlement (receipts allocated to it), never kept here.

CREATE TABLE crm_contracts (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    number TEXT NOT NULL,
    party_id BIGINT NOT NULL REFERENCES parties(id),
    title TEXT NOT NULL,
    value BIGINT NOT NULL,
    vat_rate_bp BIGINT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    terms TEXT NOT NULL DEFAULT '',
    owner_id BIGINT REFERENCES users(id),
    created_at TEXT NOT NULL,
    created_by BIGINT,
    UNIQUE (company_id, number)
);
CREATE INDEX crm_contracts_party ON crm_contracts(party_id);

CREATE TABLE crm_instalments (
    id {{id}},
    contract_id BIGINT NOT NULL REFERENCES crm_contracts(id),
    seq BIGINT NOT NULL,
    due_date TEXT NOT NULL,
    amount BIGINT NOT NULL,
    invoice_id BIGINT REFERENCES fin_invoices(id),
    dunning_level BIGINT NOT NULL DEFAULT 0,
    reminded_at TEXT,
    UNIQUE (contract_id, seq)
);
