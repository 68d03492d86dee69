-- The public web form is off until a manager turns it on; its address carries a random token,
-- so nobody can list the companies by stepping through numbers, and a leaked address is
-- replaced by turning the form off and on again.

CREATE TABLE crm_web_forms (
    company_id BIGINT PRIMARY KEY REFERENCES companies(id),
    token TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
