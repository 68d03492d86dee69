-- Demand forecasts: next year's need per department and position from drivers the planner
-- enters (a planned figure and how much of it one person carries, or a number of heads),
-- less expected attrition from the last twelve months' exits, giving hires per quarter. A
-- forecast can be applied as the year's headcount plan.

CREATE TABLE hr_forecasts (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    number TEXT NOT NULL,
    year BIGINT NOT NULL,
    applied_at TEXT,
    created_at TEXT NOT NULL,
    created_by BIGINT,
    UNIQUE (company_id, number)
);

CREATE TABLE hr_forecast_lines (
    forecast_id BIGINT NOT NULL REFERENCES hr_forecasts(id),
    position BIGINT NOT NULL,
    department_id BIGINT NOT NULL REFERENCES hr_departments(id),
    position_id BIGINT NOT NULL REFERENCES hr_positions(id),
    driver TEXT NOT NULL,
    driver_value TEXT NOT NULL,
    per_head TEXT NOT NULL,
    current_heads BIGINT NOT NULL,
    exits_12m BIGINT NOT NULL,
    attrition_bp BIGINT NOT NULL,
    needed BIGINT NOT NULL,
    expected_exits BIGINT NOT NULL,
    hires BIGINT NOT NULL,
    q1 BIGINT NOT NULL,
    q2 BIGINT NOT NULL,
    q3 BIGINT NOT NULL,
    q4 BIGINT NOT NULL,
    PRIMARY KEY (forecast_id, position)
);
