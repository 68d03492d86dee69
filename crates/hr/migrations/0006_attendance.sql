-- Attendance and leave: shifts and the roster that assigns them to employees by day (the
-- hospital module rosters its staff with them), clock-in records entered by hand or imported
-- from a CSV of the time clock, leave types with yearly allowances, and leave requests that a
-- manager approves. Payroll reads the month from here: unpaid leave days reduce days worked,
-- time clocked beyond the rostered shift is overtime.

CREATE TABLE hr_shifts (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    starts TEXT NOT NULL,
    ends TEXT NOT NULL,
    minutes BIGINT NOT NULL,
    UNIQUE (company_id, code)
);

CREATE TABLE hr_roster (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    employee_id BIGINT NOT NULL REFERENCES hr_employees(id),
    day TEXT NOT NULL,
    shift_id BIGINT NOT NULL REFERENCES hr_shifts(id),
    PRIMARY KEY (employee_id, day)
);
CREATE INDEX hr_roster_day ON hr_roster(company_id, day);

CREATE TABLE hr_clock (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    employee_id BIGINT NOT NULL REFERENCES hr_employees(id),
    day TEXT NOT NULL,
    clock_in TEXT NOT NULL,
    clock_out TEXT NOT NULL,
    minutes BIGINT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (employee_id, day)
);
CREATE INDEX hr_clock_day ON hr_clock(company_id, day);

CREATE TABLE hr_leave_types (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    paid BIGINT NOT NULL,
    yearly_days BIGINT NOT NULL,
    PRIMARY KEY (company_id, code)
);

CREATE TABLE hr_leave_requests (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    employee_id BIGINT NOT NULL REFERENCES hr_employees(id),
    leave_type TEXT NOT NULL,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    days BIGINT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    decided_by BIGINT REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX hr_leave_requests_employee ON hr_leave_requests(employee_id, first_day);
