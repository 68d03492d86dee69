-- Automatic escalation on an SLA breach: each priority's policy may name the user a breached
-- ticket goes to, and a ticket remembers how far it was escalated automatically (0 not yet,
-- 1 for the missed first response, 2 for the missed resolution) so it is escalated once per
-- target.

ALTER TABLE crm_sla_policies ADD COLUMN escalate_to BIGINT REFERENCES users(id);
ALTER TABLE crm_tickets ADD COLUMN breach_escalated BIGINT NOT NULL DEFAULT 0;
