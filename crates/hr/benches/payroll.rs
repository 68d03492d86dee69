//! Payroll and planning at volume: a month's run for 10,000 employees on a structure of 20
//! components — computed (formulas, social insurance, cumulative IIT), stored as payslips
//! with their 200,000 lines, and posted as one voucher — and the headcount plan of a year over
//! 1,000 departments. Employees are written by bulk SQL (what is measured is the run); each
//! run happens in a transaction that is rolled back, so every sample pays the same month.
//!
//!     cargo bench -p hr --bench payroll                                    # SQLite
//!     ZHONGSHU_TEST_PG_URL=postgres://… cargo bench -p hr --bench payroll  # PostgreSQL

use criterion::{criterion_group, criterion_main, Criterion};
use db::Actor;
use kernel::ids::{CompanyId, UserId};
use kernel::permission::Principal;
use serde_json::json;
use std::time::Duration;

const EMPLOYEES: i64 = 10_000;
const DEPARTMENTS: i64 = 1_000;
const POSITIONS: i64 = 5;

struct Store {
    app: testkit::TestApp,
    principal: Principal,
}

async fn store() -> Store {
    let app = testkit::spawn_app().await;
    let company = app.company_id;
    let principal = Principal::new(UserId(1), "admin".into(), CompanyId(company), None, None, true, Vec::new());
    let api = app.api("admin").await;
    assert!(api.post("/api/v1/finance/setup", &json!({"year": 2026})).await.status.is_success());
    // The standard structure and the sample city rule, then a 20-component structure.
    api.get("/api/v1/hr/structures").await;
    let mut components = vec![
        json!({"code": "base_pay", "name": "基本工资", "kind": "earning", "formula": "base * days_worked / work_days"}),
        json!({"code": "overtime", "name": "加班费", "kind": "earning", "formula": "round(base / 21.75 / 8 * 1.5 * overtime_hours)"}),
        json!({"code": "performance_bonus", "name": "绩效奖金", "kind": "earning", "formula": "target_bonus * rating_percent / 100"}),
    ];
    for i in 0..15 {
        components.push(json!({"code": format!("allowance_{i}"), "name": format!("津贴 {i}"), "kind": "earning",
            "formula": format!("min(round(base * 0.00{} + 50), 800)", i % 9 + 1)}));
    }
    components.push(
        json!({"code": "union_dues", "name": "工会会费", "kind": "deduction", "formula": "round(base_pay * 0.005)"}),
    );
    components
        .push(json!({"code": "meal_deduction", "name": "餐费", "kind": "deduction", "formula": "days_worked * 10"}));
    let made =
        api.post("/api/v1/hr/structures", &json!({"code": "BIG", "name": "二十项", "components": components})).await;
    assert!(made.status.is_success(), "{}", made.body);
    let structure = made.json()["id"].as_i64().expect("structure");
    app.bulk("hr_departments", "company_id, code, name, expense_account, created_at", DEPARTMENTS, 500, |q, i| {
        q.bind(company).push(", ").bind(format!("D{i:04}")).push(", ").bind(format!("部门 {i}"));
        q.push(", ")
            .bind(["6602", "6601", "5001"][(i % 3) as usize].to_string())
            .push(", '2026-01-01T00:00:00.000000Z'");
    })
    .await;
    app.bulk("hr_positions", "company_id, code, title, job_family, grade, created_at", POSITIONS, 10, |q, i| {
        q.bind(company).push(", ").bind(format!("P{i}")).push(", ").bind(format!("岗位 {i}"));
        q.push(", '通用', ").bind(i + 1).push(", '2026-01-01T00:00:00.000000Z'");
    })
    .await;
    app.bulk(
        "parties",
        "company_id, number, kind, name, search_text, created_at, updated_at",
        EMPLOYEES,
        2_000,
        |q, i| {
            q.bind(company).push(", ").bind(format!("PTY/EMP/{i:06}")).push(", 'person', ").bind(format!("员工 {i}"));
            q.push(", ")
                .bind(format!("员工 {i}"))
                .push(", '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z'");
        },
    )
    .await;
    app.bulk("hr_employees",
        "company_id, party_id, number, department_id, position_id, status, hire_date, grade_since, contract_kind, city, structure_id, \
         base_salary, additional_deductions, target_bonus, bank_name, bank_account, created_at",
        EMPLOYEES,
        1_000,
        |q, i| {
            q.bind(company).push(", (SELECT id FROM parties WHERE company_id = ").bind(company);
            q.push(" AND number = ").bind(format!("PTY/EMP/{i:06}")).push("), ").bind(format!("EMP/{i:06}"));
            q.push(", (SELECT id FROM hr_departments WHERE company_id = ").bind(company).push(" AND code = ");
            q.bind(format!("D{:04}", i % DEPARTMENTS)).push("), (SELECT id FROM hr_positions WHERE company_id = ").bind(company);
            q.push(" AND code = ").bind(format!("P{}", i % POSITIONS)).push("), 'active', '2025-06-01', '2025-06-01', 'open', '上海', ");
            q.bind(structure).push(", ").bind(800_000 + (i % 50) * 40_000).push(", ").bind((i % 3) * 100_000);
            q.push(", 600000, '招商银行', ").bind(format!("62258812{i:08}")).push(", '2026-01-01T00:00:00.000000Z'");
        },
    )
    .await;
    // A plan for every department and position.
    app.bulk(
        "hr_headcount",
        "company_id, year, department_id, position_id, approved",
        DEPARTMENTS * POSITIONS,
        1_000,
        |q, i| {
            q.bind(company).push(", 2026, (SELECT id FROM hr_departments WHERE company_id = ").bind(company);
            q.push(" AND code = ")
                .bind(format!("D{:04}", i / POSITIONS))
                .push("), (SELECT id FROM hr_positions WHERE company_id = ");
            q.bind(company).push(" AND code = ").bind(format!("P{}", i % POSITIONS)).push("), 3");
        },
    )
    .await;
    // Each employee's pay history from the hire, as hiring writes it: the run pays each day at
    // the salary of that day.
    let mut tx = app.db.begin(Actor::system()).await.expect("begin");
    sqlx::query("INSERT INTO hr_pay_history (employee_id, effective_date, base_salary) SELECT id, hire_date, base_salary FROM hr_employees")
        .execute(tx.conn())
        .await
        .expect("pay history");
    tx.commit().await.expect("commit");
    app.db.analyze().await.expect("analyze");
    Store { app, principal }
}

fn payroll(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let store = runtime.block_on(store());
    let mut group = c.benchmark_group("hr");
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    group.bench_function("payroll_run_10k_employees_20_components_computed_and_posted", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut tx = store.app.db.begin(Actor::user(1, "admin", store.app.company_id)).await.expect("begin");
            let form = hr::payroll::RunForm { period: "2026-03".into(), ..Default::default() };
            let run = hr::payroll::create_run(&mut tx, &store.principal, &form).await.expect("run");
            let voucher = hr::payroll::post(&mut tx, &store.principal, run).await.expect("post");
            // Rolled back: the next sample pays the same month again.
            drop(tx);
            voucher
        })
    });
    group.sample_size(20).measurement_time(Duration::from_secs(8));
    group.bench_function("headcount_plan_1000_departments", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = store.app.db.read_conn().await.expect("conn");
            hr::planning::plan(&mut conn, &store.principal, 2026).await.expect("plan")
        })
    });
    group.finish();
}

criterion_group!(benches, payroll);
criterion_main!(benches);
