//! Human resource planning: the organisation (departments as a tree, positions, employees as
//! parties with the employee role, their lifecycle as dated events), the headcount plan per
//! department, position and year with requisitions (one beyond plan needs an extra approval)
//! and demand forecasts from drivers less expected attrition, which become next year's plan,
//! recruiting (postings with a public application form, screened candidates, interviews,
//! offers, hires), career paths (promotion ladders with time in grade, rating and a required course, and who is
//! eligible now), training (courses, sessions, attendance, four-level evaluation, needs and
//! effectiveness), attendance and leave (shifts, rosters, clock-in import, leave requests and
//! balances, read by payroll as unpaid days and overtime),
//! performance reviews with weighted goals and a calibrated final rating, and payroll: salary
//! structures whose components are formulas, social insurance and housing fund by city rule,
//! individual income tax by cumulative withholding and on the separately taxed annual bonus,
//! payslips each employee reads for themself, and runs that post one voucher to finance and
//! produce the bank payment file. Salary, ID numbers and bank accounts are read only by HR and
//! payroll roles and the employee themself. Emits `hr.EmployeeHired`, `hr.EmployeeExited`,
//! `hr.ReviewFinalised`, `hr.PayrollPosted`.

pub mod attendance;
pub mod careers;
pub mod domain;
mod http;
mod i18n;
pub mod org;
pub mod pay_rules;
pub mod payroll;
pub mod planning;
pub mod recruiting;
pub mod resume_text;
pub mod reviews;
pub mod training;

use web::{MenuItem, Module};

/// Today where the company is (China Standard Time), from the operation's instant.
pub(crate) fn china_today(tx: &db::Tx) -> db::Result<chrono::NaiveDate> {
    chrono::DateTime::parse_from_rfc3339(tx.now())
        .map(|at| (at.naive_utc() + chrono::Duration::hours(8)).date())
        .map_err(|e| kernel::DomainError::Internal(e.to_string()).into())
}

pub fn module() -> Module {
    Module {
        name: "hr",
        title_key: "hr.menu",
        migrations: vec![
            db::migrate::Migration {
                module: "hr",
                version: 1,
                name: "organisation, plans, reviews and payroll",
                sql: include_str!("../migrations/0001_hr.sql"),
            },
            db::migrate::Migration {
                module: "hr",
                version: 2,
                name: "demand forecasts",
                sql: include_str!("../migrations/0002_forecasts.sql"),
            },
            db::migrate::Migration {
                module: "hr",
                version: 3,
                name: "career paths",
                sql: include_str!("../migrations/0003_career_paths.sql"),
            },
            db::migrate::Migration {
                module: "hr",
                version: 4,
                name: "training",
                sql: include_str!("../migrations/0004_training.sql"),
            },
            db::migrate::Migration {
                module: "hr",
                version: 5,
                name: "recruiting",
                sql: include_str!("../migrations/0005_recruiting.sql"),
            },
            db::migrate::Migration {
                module: "hr",
                version: 6,
                name: "attendance and leave",
                sql: include_str!("../migrations/0006_attendance.sql"),
            },
            db::migrate::Migration {
                module: "hr",
                version: 7,
                name: "training plans and session costs",
                sql: include_str!("../migrations/0007_training_plans.sql"),
            },
            db::migrate::Migration {
                module: "hr",
                version: 8,
                name: "offers",
                sql: include_str!("../migrations/0008_offers.sql"),
            },
            db::migrate::Migration {
                module: "hr",
                version: 9,
                name: "pay history",
                sql: include_str!("../migrations/0009_pay_history.sql"),
            },
            db::migrate::Migration {
                module: "hr",
                version: 10,
                name: "city rounding",
                sql: include_str!("../migrations/0010_city_rounding.sql"),
            },
        ],
        permissions: &[
            org::EMPLOYEE_READ,
            org::EMPLOYEE_MANAGE,
            org::PAY_READ,
            planning::PLAN_READ,
            planning::PLAN_MANAGE,
            planning::REQUISITION_APPROVE,
            planning::REQUISITION_APPROVE_BEYOND,
            reviews::REVIEW_MANAGE,
            training::TRAINING_MANAGE,
            payroll::PAYROLL_MANAGE,
            payroll::PAYROLL_POST,
        ],
        menu: vec![
            MenuItem { label_key: "hr.employees", href: "/hr/employees", permission: org::EMPLOYEE_READ },
            MenuItem { label_key: "hr.organisation", href: "/hr/organisation", permission: org::EMPLOYEE_READ },
            MenuItem { label_key: "hr.headcount", href: "/hr/headcount", permission: planning::PLAN_READ },
            MenuItem { label_key: "hr.forecasts", href: "/hr/forecasts", permission: planning::PLAN_READ },
            MenuItem { label_key: "hr.recruiting", href: "/hr/recruiting", permission: planning::PLAN_READ },
            MenuItem { label_key: "hr.careers", href: "/hr/careers", permission: planning::PLAN_READ },
            MenuItem { label_key: "hr.reviews", href: "/hr/reviews", permission: "" },
            MenuItem { label_key: "hr.training", href: "/hr/training", permission: org::EMPLOYEE_READ },
            MenuItem { label_key: "hr.attendance", href: "/hr/attendance", permission: org::EMPLOYEE_READ },
            MenuItem { label_key: "hr.payroll", href: "/hr/payroll", permission: org::PAY_READ },
            MenuItem { label_key: "hr.iit", href: "/hr/iit", permission: org::PAY_READ },
            MenuItem { label_key: "hr.my_payslips", href: "/hr/my/payslips", permission: "" },
        ],
        routes: http::routes,
        api: http::docs(),
        subscribers: Vec::new(),
        jobs: Vec::new(),
        messages: i18n::MESSAGES,
    }
}
