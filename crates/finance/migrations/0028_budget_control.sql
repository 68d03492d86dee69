-- What a budget does when a posting would take its code's spending on its account beyond it:
-- 'warn' (the report marks the overspend; the posting goes through) or 'stop' (the posting is
-- refused when the spending of the year up to the posting's month would exceed the budget of
-- those months). Set for a year at a time, so every month row of a year carries the same.
ALTER TABLE fin_budgets ADD COLUMN action TEXT NOT NULL DEFAULT 'warn';
