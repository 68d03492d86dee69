-- A supplier bill can be held back from posting (a purchase bill that does not match its order
-- and receipt); the reason says why, and posting is refused until the hold is released.

ALTER TABLE fin_invoices ADD COLUMN hold_reason TEXT;
