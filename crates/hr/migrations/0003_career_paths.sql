-- Career paths: promotion ladders per job family (专员 → 主管 → 经理 …). Each step names the
-- position it leads from and to, the months an employee must have held their grade, and the
-- lowest final rating that qualifies (A is best).

CREATE TABLE hr_career_steps (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    from_position_id BIGINT NOT NULL REFERENCES hr_positions(id),
    to_position_id BIGINT NOT NULL REFERENCES hr_positions(id),
    min_months BIGINT NOT NULL,
    min_rating TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (company_id, from_position_id)
);
