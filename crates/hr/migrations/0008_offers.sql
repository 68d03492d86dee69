-- An offer (录用通知) to a candidate after their interviews: the pay and start date it names,
-- until when it stands, and the candidate's answer. Hiring follows an accepted offer and
-- takes its terms. A rejected application remembers the stage it had reached.
CREATE TABLE hr_offers (
    application_id BIGINT PRIMARY KEY REFERENCES hr_applications(id),
    company_id BIGINT NOT NULL REFERENCES companies(id),
    base_salary BIGINT NOT NULL,
    target_bonus BIGINT NOT NULL DEFAULT 0,
    start_date TEXT NOT NULL,
    expires_on TEXT NOT NULL,
    contract_kind TEXT NOT NULL,
    contract_end TEXT,
    notes TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by BIGINT,
    answered_at TEXT
);

ALTER TABLE hr_applications ADD COLUMN rejected_at_stage TEXT;

-- A day's stored résumé bytes per company are capped (public uploads).
CREATE INDEX hr_applications_applied ON hr_applications(company_id, applied_at);
