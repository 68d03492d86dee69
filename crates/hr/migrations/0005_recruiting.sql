-- Recruiting: a job posting for an approved requisition, published at a secret address with
-- an application form; applications by candidates (parties with the candidate role, matched
-- by mobile so a person applying twice stays one party), screened with a score that explains
-- itself; assessments and interviews with scorecards; offers; and the hire, which makes the
-- candidate an employee and fills the requisition. A résumé file is kept as base64 text.

CREATE TABLE hr_postings (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    number TEXT NOT NULL,
    requisition_id BIGINT NOT NULL REFERENCES hr_requisitions(id),
    token TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    keywords TEXT NOT NULL,
    min_years BIGINT NOT NULL,
    education TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by BIGINT,
    UNIQUE (company_id, number)
);

CREATE TABLE hr_applications (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    posting_id BIGINT NOT NULL REFERENCES hr_postings(id),
    party_id BIGINT NOT NULL REFERENCES parties(id),
    name TEXT NOT NULL,
    mobile TEXT NOT NULL,
    email TEXT NOT NULL,
    years BIGINT NOT NULL,
    education TEXT NOT NULL,
    resume_text TEXT NOT NULL,
    file_name TEXT,
    file_type TEXT,
    file_size BIGINT,
    file_base64 TEXT,
    score BIGINT NOT NULL,
    explanation TEXT NOT NULL,
    repeat_of BIGINT REFERENCES hr_applications(id),
    stage TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    hired_at TEXT,
    employee_id BIGINT REFERENCES hr_employees(id)
);
CREATE INDEX hr_applications_posting ON hr_applications(posting_id, score);
CREATE INDEX hr_applications_party ON hr_applications(party_id);

CREATE TABLE hr_interviews (
    id {{id}},
    application_id BIGINT NOT NULL REFERENCES hr_applications(id),
    kind TEXT NOT NULL,
    interviewer TEXT NOT NULL,
    score BIGINT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX hr_interviews_application ON hr_interviews(application_id);
