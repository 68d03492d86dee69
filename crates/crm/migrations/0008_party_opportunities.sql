-- One customer's open opportunities (the 360 page's pipeline figure) from that customer's rows,
-- not from the whole company's board.

CREATE INDEX crm_opportunities_party_status ON crm_opportunities(party_id, status);
