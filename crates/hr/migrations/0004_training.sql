-- Training: courses, their sessions, and each participant's enrolment with attendance and the
-- four levels of evaluation (reaction 1–5, learning as a test score before and after 0–100,
-- behaviour 1–5 and result 1–5 as the manager sees them later). A career step may require a
-- course completed.

CREATE TABLE hr_courses (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    code TEXT NOT NULL,
    title TEXT NOT NULL,
    hours BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (company_id, code)
);

CREATE TABLE hr_sessions (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    course_id BIGINT NOT NULL REFERENCES hr_courses(id),
    starts_on TEXT NOT NULL,
    trainer TEXT NOT NULL DEFAULT '',
    capacity BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX hr_sessions_course ON hr_sessions(course_id, starts_on);

CREATE TABLE hr_enrolments (
    session_id BIGINT NOT NULL REFERENCES hr_sessions(id),
    employee_id BIGINT NOT NULL REFERENCES hr_employees(id),
    attended BIGINT NOT NULL DEFAULT 0,
    reaction BIGINT,
    pre_score BIGINT,
    post_score BIGINT,
    behaviour BIGINT,
    result BIGINT,
    completed_at TEXT,
    PRIMARY KEY (session_id, employee_id)
);
CREATE INDEX hr_enrolments_employee ON hr_enrolments(employee_id);

ALTER TABLE hr_career_steps ADD COLUMN required_course_id BIGINT REFERENCES hr_courses(id);
