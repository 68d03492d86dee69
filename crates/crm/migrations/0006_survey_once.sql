-- A ticket or an order is surveyed once, even if two deliveries of one event race.

CREATE UNIQUE INDEX crm_surveys_ticket ON crm_surveys(ticket_id) WHERE ticket_id IS NOT NULL;
CREATE UNIQUE INDEX crm_surveys_order ON crm_surveys(order_id) WHERE order_id IS NOT NULL;
