-- Each employee's base salary from a date: written at hire and at every change of pay, so
-- a month's pay follows a change dated inside it. Sensitive like the pay terms (read with
-- hr.pay.read). Employees hired before this table start with their current salary.
CREATE TABLE hr_pay_history (
    employee_id BIGINT NOT NULL REFERENCES hr_employees(id),
    effective_date TEXT NOT NULL,
    base_salary BIGINT NOT NULL,
    PRIMARY KEY (employee_id, effective_date)
);
INSERT INTO hr_pay_history (employee_id, effective_date, base_salary) SELECT id, hire_date, base_salary FROM hr_employees;
