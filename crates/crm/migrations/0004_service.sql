-- Customer service: tickets with SLA targets counted in business hours (Monday to Friday,
-- 09:00–18:00 China time, less the company's holidays), their notes (the first reply from
-- staff is the first response), parts used on a repair (moved out of stock), and satisfaction
-- surveys sent when a ticket is resolved or an order delivered, answered once through a
-- token link.

CREATE TABLE crm_sla_policies (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    priority TEXT NOT NULL,
    first_response_minutes BIGINT NOT NULL,
    resolution_minutes BIGINT NOT NULL,
    PRIMARY KEY (company_id, priority)
);

CREATE TABLE crm_holidays (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    day TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (company_id, day)
);

CREATE TABLE crm_tickets (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    number TEXT NOT NULL,
    party_id BIGINT REFERENCES parties(id),
    contact TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL,
    priority TEXT NOT NULL,
    product_id BIGINT REFERENCES cat_products(id),
    serial TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    assignee_id BIGINT REFERENCES users(id),
    escalation BIGINT NOT NULL DEFAULT 0,
    first_response_due TEXT NOT NULL,
    resolution_due TEXT NOT NULL,
    first_response_at TEXT,
    resolved_at TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    created_by BIGINT,
    UNIQUE (company_id, number)
);
CREATE INDEX crm_tickets_queue ON crm_tickets(company_id, status, resolution_due);
CREATE INDEX crm_tickets_party ON crm_tickets(party_id, created_at);

CREATE TABLE crm_ticket_notes (
    id {{id}},
    ticket_id BIGINT NOT NULL REFERENCES crm_tickets(id),
    body TEXT NOT NULL,
    author_id BIGINT REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX crm_ticket_notes_ticket ON crm_ticket_notes(ticket_id, id);

CREATE TABLE crm_ticket_parts (
    ticket_id BIGINT NOT NULL REFERENCES crm_tickets(id),
    product_id BIGINT NOT NULL REFERENCES cat_products(id),
    quantity BIGINT NOT NULL,
    move_number TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX crm_ticket_parts_ticket ON crm_ticket_parts(ticket_id);

CREATE TABLE crm_surveys (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    token TEXT NOT NULL UNIQUE,
    party_id BIGINT REFERENCES parties(id),
    ticket_id BIGINT REFERENCES crm_tickets(id),
    order_id BIGINT REFERENCES sal_orders(id),
    agent_id BIGINT REFERENCES users(id),
    category TEXT NOT NULL DEFAULT '',
    product_id BIGINT REFERENCES cat_products(id),
    sent_at TEXT NOT NULL,
    answered_at TEXT,
    csat BIGINT,
    nps BIGINT,
    comment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX crm_surveys_answered ON crm_surveys(company_id, answered_at);
CREATE INDEX crm_surveys_party ON crm_surveys(party_id);
