-- A year's training plan: per department and course, the heads to train and the budget (fen).
-- A session records what it cost (fen); the plan's spend is each session's cost shared by its
-- attendees, counted for the department each attendee is in.
ALTER TABLE hr_sessions ADD COLUMN cost BIGINT NOT NULL DEFAULT 0;

CREATE TABLE hr_training_plans (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    year BIGINT NOT NULL,
    department_id BIGINT NOT NULL REFERENCES hr_departments(id),
    course_id BIGINT NOT NULL REFERENCES hr_courses(id),
    heads BIGINT NOT NULL,
    budget BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (company_id, year, department_id, course_id)
);
