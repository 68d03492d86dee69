-- Marketing: segments are saved rules over real data (spend in the last twelve months,
-- region, tag, last purchase), evaluated live; campaigns reach a segment through a channel
-- with a budget and a period, keep whom they touched, and measure their effect from the leads
-- that name their code and the invoices of the customers they brought or touched.

CREATE TABLE crm_segments (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    name TEXT NOT NULL,
    min_spend_12m BIGINT,
    region TEXT NOT NULL DEFAULT '',
    tag TEXT NOT NULL DEFAULT '',
    no_purchase_since TEXT,
    created_at TEXT NOT NULL,
    created_by BIGINT,
    UNIQUE (company_id, name)
);

CREATE TABLE crm_campaigns (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    channel TEXT NOT NULL,
    budget BIGINT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    segment_id BIGINT REFERENCES crm_segments(id),
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by BIGINT,
    UNIQUE (company_id, code)
);

-- Whom a launched campaign touched (the segment's members when it was launched).
CREATE TABLE crm_campaign_members (
    campaign_id BIGINT NOT NULL REFERENCES crm_campaigns(id),
    party_id BIGINT NOT NULL REFERENCES parties(id),
    touched_at TEXT NOT NULL,
    PRIMARY KEY (campaign_id, party_id)
);
CREATE INDEX crm_campaign_members_party ON crm_campaign_members(party_id);
CREATE INDEX crm_leads_campaign ON crm_leads(company_id, campaign);
