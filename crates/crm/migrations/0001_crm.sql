-- CRM: what staff log about customers and prospects (activities), leads and the sales
-- pipeline. Facts that live in other modules (orders, deliveries, invoices, payments) are not
-- copied here: the customer timeline reads them where they are.

-- A call, meeting, e-mail, note or task about a customer, a lead or an opportunity. A task has
-- a due date and is open until done.
CREATE TABLE crm_activities (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    party_id BIGINT REFERENCES parties(id),
    lead_id BIGINT,
    opportunity_id BIGINT,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    due_date TEXT,
    done_at TEXT,
    owner_id BIGINT REFERENCES users(id),
    created_at TEXT NOT NULL,
    created_by BIGINT
);
CREATE INDEX crm_activities_party ON crm_activities(company_id, party_id, created_at);
CREATE INDEX crm_activities_due ON crm_activities(company_id, owner_id, done_at, due_date);
CREATE INDEX crm_activities_opportunity ON crm_activities(opportunity_id);

-- A prospect not yet a customer: from a person, an import or the public web form; source and
-- campaign as given; a suspected duplicate party; owned by the salesperson the rules assigned.
-- Converting it makes a party (or takes the duplicate), a contact and an opportunity.
CREATE TABLE crm_leads (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    number TEXT NOT NULL,
    name TEXT NOT NULL,
    organization TEXT NOT NULL DEFAULT '',
    mobile TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    campaign TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    duplicate_of BIGINT REFERENCES parties(id),
    party_id BIGINT REFERENCES parties(id),
    opportunity_id BIGINT,
    lost_reason TEXT NOT NULL DEFAULT '',
    owner_id BIGINT REFERENCES users(id),
    version BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    created_by BIGINT,
    UNIQUE (company_id, number)
);
CREATE INDEX crm_leads_list ON crm_leads(company_id, status, id);
CREATE INDEX crm_leads_party ON crm_leads(party_id);

-- Who gets a new lead: the first rule (by position) whose source and region match (empty
-- matches anything) names a team; the lead goes round robin to that team's salespeople.
CREATE TABLE crm_assignment_rules (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    position BIGINT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    team TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX crm_assignment_rules_company ON crm_assignment_rules(company_id, position);

-- The last salesperson of a team given a lead, so the next goes to the one after.
CREATE TABLE crm_round_robin (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    team TEXT NOT NULL,
    last_user_id BIGINT NOT NULL,
    PRIMARY KEY (company_id, team)
);

-- The pipeline's stages, in order, with the chance of winning (basis points) that weighs the
-- forecast.
CREATE TABLE crm_stages (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL DEFAULT '',
    probability_bp BIGINT NOT NULL,
    UNIQUE (company_id, name)
);

-- A sale in the making: a customer, an expected revenue (fen) and close date, a stage; open
-- until won (its quotation's order confirmed, or by hand) or lost (with a reason).
CREATE TABLE crm_opportunities (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    number TEXT NOT NULL,
    title TEXT NOT NULL,
    party_id BIGINT NOT NULL REFERENCES parties(id),
    lead_id BIGINT REFERENCES crm_leads(id),
    stage_id BIGINT NOT NULL REFERENCES crm_stages(id),
    expected_revenue BIGINT NOT NULL,
    close_date TEXT NOT NULL,
    status TEXT NOT NULL,
    lost_reason TEXT NOT NULL DEFAULT '',
    owner_id BIGINT REFERENCES users(id),
    version BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    created_by BIGINT,
    closed_at TEXT,
    UNIQUE (company_id, number)
);
CREATE INDEX crm_opportunities_board ON crm_opportunities(company_id, status, stage_id, id);
CREATE INDEX crm_opportunities_party ON crm_opportunities(party_id);

-- Quotations made from an opportunity (sales orders): confirming one wins it.
CREATE TABLE crm_opportunity_orders (
    opportunity_id BIGINT NOT NULL REFERENCES crm_opportunities(id),
    order_id BIGINT NOT NULL REFERENCES sal_orders(id),
    PRIMARY KEY (opportunity_id, order_id)
);
CREATE INDEX crm_opportunity_orders_order ON crm_opportunity_orders(order_id);
