-- An invoice may take several credit notes (two projectors returned this week, the
-- installation cancelled next week). Two clerks crediting one invoice in full at once are
-- still kept apart: the full credit note changes the invoice only while it is open and
-- unpaid, and a partial one takes the invoice's row first.
DROP INDEX fin_invoices_one_credit_note;
CREATE INDEX fin_invoices_credit_of ON fin_invoices(credit_of) WHERE credit_of IS NOT NULL;
