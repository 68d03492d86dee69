-- Human resources: the organisation (departments as a tree, positions, employees), the
-- employee lifecycle as dated events, the headcount plan and requisitions, performance
-- reviews, and payroll (city rules for social insurance, salary structures with formula
-- components, runs, payslips). An employee is a party with the employee role: name, ID
-- number and mobile live on the party; what only HR keeps lives here.

-- A department; `parent_id` makes the tree. Its wages are charged to `expense_account`
-- (6602 administration, 6601 selling, 5001 production) with its code as the cost centre.
CREATE TABLE hr_departments (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id BIGINT REFERENCES hr_departments(id),
    expense_account TEXT NOT NULL DEFAULT '6602',
    created_at TEXT NOT NULL,
    UNIQUE (company_id, code)
);
CREATE INDEX hr_departments_parent ON hr_departments(company_id, parent_id);

-- A position (岗位): job family, grade and band.
CREATE TABLE hr_positions (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    code TEXT NOT NULL,
    title TEXT NOT NULL,
    job_family TEXT NOT NULL,
    grade BIGINT NOT NULL,
    band TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (company_id, code)
);

-- A social insurance and housing fund rule per city and year (amounts in fen, rates in bp).
CREATE TABLE hr_city_rules (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    city TEXT NOT NULL,
    year BIGINT NOT NULL,
    floor BIGINT NOT NULL,
    cap BIGINT NOT NULL,
    pension_employee_bp BIGINT NOT NULL,
    medical_employee_bp BIGINT NOT NULL,
    unemployment_employee_bp BIGINT NOT NULL,
    pension_employer_bp BIGINT NOT NULL,
    medical_employer_bp BIGINT NOT NULL,
    unemployment_employer_bp BIGINT NOT NULL,
    injury_employer_bp BIGINT NOT NULL,
    housing_fund_bp BIGINT NOT NULL,
    sample BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (company_id, city, year)
);

-- A salary structure and its components in order: an earning adds to the gross (taxed as
-- wages), a deduction comes off the net after tax. `formula` is in the language of
-- `domain::Formula`.
CREATE TABLE hr_structures (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (company_id, code)
);
CREATE TABLE hr_components (
    structure_id BIGINT NOT NULL REFERENCES hr_structures(id),
    position BIGINT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    formula TEXT NOT NULL,
    PRIMARY KEY (structure_id, position),
    UNIQUE (structure_id, code)
);

-- An employee. Pay terms (base salary, contribution base, housing fund rate, monthly special
-- additional deductions, target bonus) and the bank account are sensitive: read only with
-- `hr.pay.read` or by the employee themself.
CREATE TABLE hr_employees (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    party_id BIGINT NOT NULL REFERENCES parties(id),
    number TEXT NOT NULL,
    user_id BIGINT REFERENCES users(id),
    department_id BIGINT NOT NULL REFERENCES hr_departments(id),
    position_id BIGINT NOT NULL REFERENCES hr_positions(id),
    manager_id BIGINT REFERENCES hr_employees(id),
    status TEXT NOT NULL,
    hire_date TEXT NOT NULL,
    grade_since TEXT NOT NULL,
    exit_date TEXT,
    contract_kind TEXT NOT NULL,
    contract_end TEXT,
    city TEXT NOT NULL,
    structure_id BIGINT NOT NULL REFERENCES hr_structures(id),
    base_salary BIGINT NOT NULL,
    contribution_base BIGINT,
    housing_fund_bp BIGINT,
    additional_deductions BIGINT NOT NULL DEFAULT 0,
    target_bonus BIGINT NOT NULL DEFAULT 0,
    bank_name TEXT NOT NULL DEFAULT '',
    bank_account TEXT NOT NULL DEFAULT '',
    version BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    created_by BIGINT,
    UNIQUE (company_id, number),
    UNIQUE (party_id)
);
CREATE INDEX hr_employees_department ON hr_employees(company_id, department_id, status);
CREATE INDEX hr_employees_user ON hr_employees(user_id);

-- The employee lifecycle: hire, onboarding steps, transfer, promotion, leave of absence,
-- return, exit — each dated and kept (the audit chain records who entered it).
CREATE TABLE hr_employee_events (
    id {{id}},
    employee_id BIGINT NOT NULL REFERENCES hr_employees(id),
    kind TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    details TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by BIGINT
);
CREATE INDEX hr_employee_events_employee ON hr_employee_events(employee_id, effective_date, id);

-- The onboarding checklist of a hire: each item done or not.
CREATE TABLE hr_onboarding (
    employee_id BIGINT NOT NULL REFERENCES hr_employees(id),
    item TEXT NOT NULL,
    done_at TEXT,
    PRIMARY KEY (employee_id, item)
);

-- The headcount plan (编制): approved heads per department, position and year.
CREATE TABLE hr_headcount (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    year BIGINT NOT NULL,
    department_id BIGINT NOT NULL REFERENCES hr_departments(id),
    position_id BIGINT NOT NULL REFERENCES hr_positions(id),
    approved BIGINT NOT NULL,
    PRIMARY KEY (company_id, year, department_id, position_id)
);

-- A requisition for hires. One beyond the plan (`beyond_plan`) needs the extra approval.
CREATE TABLE hr_requisitions (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    number TEXT NOT NULL,
    year BIGINT NOT NULL,
    department_id BIGINT NOT NULL REFERENCES hr_departments(id),
    position_id BIGINT NOT NULL REFERENCES hr_positions(id),
    heads BIGINT NOT NULL,
    filled BIGINT NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    beyond_plan BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    approved_by BIGINT REFERENCES users(id),
    created_at TEXT NOT NULL,
    created_by BIGINT,
    UNIQUE (company_id, number)
);
CREATE INDEX hr_requisitions_plan ON hr_requisitions(company_id, year, department_id, position_id, status);

-- A performance review of one employee for one cycle's period, its goals with weights and
-- targets, self and manager scores, and the final rating after calibration. A final rating
-- not yet paid (`paid_run_id`) is what the next payroll's rating bonus reads.
CREATE TABLE hr_reviews (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    employee_id BIGINT NOT NULL REFERENCES hr_employees(id),
    cycle TEXT NOT NULL,
    period TEXT NOT NULL,
    status TEXT NOT NULL,
    self_score TEXT,
    manager_score TEXT,
    rating TEXT,
    calibrated_from TEXT,
    finalised_at TEXT,
    paid_run_id BIGINT,
    created_at TEXT NOT NULL,
    created_by BIGINT,
    UNIQUE (employee_id, cycle, period)
);
CREATE INDEX hr_reviews_company ON hr_reviews(company_id, period);
CREATE TABLE hr_review_goals (
    review_id BIGINT NOT NULL REFERENCES hr_reviews(id),
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    weight_bp BIGINT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    self_score BIGINT,
    manager_score BIGINT,
    PRIMARY KEY (review_id, position)
);

-- A payroll run for a month: regular (one per period) or off-cycle (corrections). Draft
-- runs are computed and may be recomputed; posting writes one voucher and freezes it.
CREATE TABLE hr_payroll_runs (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    number TEXT NOT NULL,
    period TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    pay_date TEXT NOT NULL,
    inputs TEXT NOT NULL DEFAULT '[]',
    employees BIGINT NOT NULL DEFAULT 0,
    gross BIGINT NOT NULL DEFAULT 0,
    net BIGINT NOT NULL DEFAULT 0,
    employer_cost BIGINT NOT NULL DEFAULT 0,
    -- How many runs of the year were posted when this one was computed: posting refuses a
    -- run whose year moved on since (its cumulative tax figures would be stale).
    basis BIGINT NOT NULL DEFAULT 0,
    entry_id BIGINT,
    entry_number TEXT,
    created_at TEXT NOT NULL,
    created_by BIGINT,
    posted_at TEXT,
    UNIQUE (company_id, number)
);
CREATE INDEX hr_payroll_runs_period ON hr_payroll_runs(company_id, period, kind, status);
-- One regular run per month, even when two are started at once.
CREATE UNIQUE INDEX hr_payroll_runs_regular ON hr_payroll_runs(company_id, period) WHERE kind = 'regular';

-- One employee's payslip in a run, with every amount the run computed (fen) and the
-- cumulative figures the withholding used, so a payslip explains itself.
CREATE TABLE hr_payslips (
    id {{id}},
    run_id BIGINT NOT NULL REFERENCES hr_payroll_runs(id),
    employee_id BIGINT NOT NULL REFERENCES hr_employees(id),
    department_id BIGINT NOT NULL REFERENCES hr_departments(id),
    year BIGINT NOT NULL,
    gross BIGINT NOT NULL,
    bonus BIGINT NOT NULL,
    pension_employee BIGINT NOT NULL,
    medical_employee BIGINT NOT NULL,
    unemployment_employee BIGINT NOT NULL,
    housing_employee BIGINT NOT NULL,
    employer_contributions BIGINT NOT NULL,
    additional_deductions BIGINT NOT NULL,
    iit BIGINT NOT NULL,
    bonus_iit BIGINT NOT NULL,
    other_deductions BIGINT NOT NULL,
    net BIGINT NOT NULL,
    months BIGINT NOT NULL,
    cumulative_wages BIGINT NOT NULL,
    cumulative_deductions BIGINT NOT NULL,
    cumulative_taxable BIGINT NOT NULL,
    cumulative_tax BIGINT NOT NULL,
    contribution_base BIGINT NOT NULL,
    -- The review whose rating this payslip's bonus paid (marked paid when the run posts).
    review_id BIGINT REFERENCES hr_reviews(id),
    UNIQUE (run_id, employee_id)
);
CREATE INDEX hr_payslips_employee ON hr_payslips(employee_id, year);
CREATE TABLE hr_payslip_lines (
    payslip_id BIGINT NOT NULL REFERENCES hr_payslips(id),
    position BIGINT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (payslip_id, position)
);
