//! HR at a trading company in Shanghai: the sales department plans two hires, a requisition
//! within the plan is approved, 张伟 and 李娜 are hired (she mid-month), he completes
//! onboarding and earns an A in the first quarter's review, and March's payroll pays salary,
//! overtime, the bonus his rating earns, social insurance, housing fund and income tax to the
//! fen, posts one voucher that ties out, and writes the bank file; April's payroll carries the
//! year on. Pay, ID numbers and bank accounts stay with HR and the employee; a run that cannot
//! pay someone stores nothing.

use axum::http::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;
use testkit::{spawn_app, ApiClient, TestApp};

struct Company {
    app: TestApp,
    api: ApiClient,
    sales: i64,
    admin_department: i64,
    rep: i64,
    lead: i64,
}

/// Books for 2026, a head office and a sales department under it, and two sales positions.
async fn company() -> Company {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    assert_eq!(api.post("/api/v1/finance/setup", &json!({"year": 2026})).await.status, StatusCode::CREATED);
    let department = |code: &'static str, name: &'static str, parent: &'static str, account: &'static str| {
        let api = &api;
        async move {
            let made = api
                .post(
                    "/api/v1/hr/departments",
                    &json!({"code": code, "name": name, "parent": parent, "expense_account": account}),
                )
                .await;
            assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
            made.json()["id"].as_i64().unwrap()
        }
    };
    let admin_department = department("HQ", "总经办", "", "6602").await;
    let sales = department("SAL", "销售部", "HQ", "6601").await;
    let position = |code: &'static str, title: &'static str, grade: &'static str| {
        let api = &api;
        async move {
            let made = api
                .post(
                    "/api/v1/hr/positions",
                    &json!({"code": code, "title": title, "job_family": "销售", "grade": grade}),
                )
                .await;
            assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
            made.json()["id"].as_i64().unwrap()
        }
    };
    let rep = position("S-REP", "销售专员", "3").await;
    let lead = position("S-LEAD", "销售主管", "5").await;
    Company { app, api, sales, admin_department, rep, lead }
}

fn hire_body(c: &Company, name: &str, id_number: &str, hire_date: &str, base: &str, extra: Value) -> Value {
    let mut body = json!({"name": name, "id_number": id_number, "mobile": "13800138000", "department_id": c.sales,
        "position_id": c.rep, "hire_date": hire_date, "contract_kind": "fixed", "contract_end": "2029-03-01",
        "base_salary": base, "bank_name": "招商银行上海分行", "bank_account": "6225 8812 3456 7890"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// 李娜 and 张伟, sales representatives at 11,000.00 since June 2025: their ids.
async fn two_sales_reps(c: &Company) -> (i64, i64) {
    let hire = |name: &str, id_number: &str| {
        let body = hire_body(c, name, id_number, "2025-06-02", "11000", json!({}));
        async move { c.api.post("/api/v1/hr/employees", &body).await.json()["id"].as_i64().unwrap() }
    };
    (hire("李娜", "440524188001010014").await, hire("张伟", "11010519491231002X").await)
}

/// The posted voucher's lines as (account, debit, credit) in yuan.
async fn voucher(app: &TestApp, number: &str) -> Vec<(String, String, String)> {
    sqlx::query(
        "SELECT a.code, l.debit, l.credit FROM fin_entry_lines l JOIN fin_entries e ON e.id = l.entry_id \
         JOIN fin_accounts a ON a.id = l.account_id WHERE e.number = $1 ORDER BY l.line_no",
    )
    .bind(number)
    .fetch_all(app.db.reader())
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let fen = |c: &str| finance::domain::yuan(r.try_get::<i64, _>(c).unwrap());
        (r.try_get::<String, _>("code").unwrap(), fen("debit"), fen("credit"))
    })
    .collect()
}

fn slip_of<'a>(slips: &'a Value, name: &str) -> &'a Value {
    slips["items"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("{name}: {slips}"))
}

#[tokio::test]
async fn two_planned_hires_are_paid_their_salary_bonus_insurance_and_tax_and_the_voucher_ties_out() {
    let c = company().await;
    let (app, api) = (&c.app, &c.api);

    // The plan: two sales representatives for 2026. A requisition for both is within it.
    let plan = api
        .post(
            "/api/v1/hr/headcount-plan",
            &json!({"year": 2026, "rows": [{"department_id": c.sales, "position_id": c.rep, "approved": 2}]}),
        )
        .await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.body);
    let requisition = api
        .post("/api/v1/hr/requisitions", &json!({"year": 2026, "department_id": c.sales, "position_id": c.rep, "heads": 2, "reason": "华东市场扩张"}))
        .await;
    assert_eq!(requisition.status, StatusCode::CREATED, "{}", requisition.body);
    let requisition = requisition.json();
    assert_eq!((requisition["beyond_plan"].as_bool(), requisition["status"].as_str()), (Some(false), Some("pending")));
    let req = requisition["id"].as_i64().unwrap();
    assert_eq!(api.post(&format!("/api/v1/hr/requisitions/{req}/approve"), &json!({})).await.status, StatusCode::OK);

    // 张伟 starts on Monday 2 March at 20,000 with one child (2,000 a month) and a 6,000
    // target bonus; 李娜 on Monday 16 March at 12,000. Both fill the requisition.
    let zhang_user = app.user("zhang.wei", &[], "", "sales").await;
    let zhang = api
        .post(
            "/api/v1/hr/employees",
            &hire_body(
                &c,
                "张伟",
                "11010519491231002X",
                "2026-03-02",
                "20000",
                json!({"additional_deductions": "2000",
                "target_bonus": "6000", "user_id": zhang_user, "requisition_id": req}),
            ),
        )
        .await;
    assert_eq!(zhang.status, StatusCode::CREATED, "{}", zhang.body);
    let zhang = zhang.json();
    let zhang_id = zhang["id"].as_i64().unwrap();
    assert_eq!(
        (zhang["number"].as_str(), zhang["pay"]["base_salary"].as_str()),
        (Some("EMP/000001"), Some("20000.00"))
    );
    let li = api
        .post(
            "/api/v1/hr/employees",
            &hire_body(
                &c,
                "李娜",
                "440524188001010014",
                "2026-03-16",
                "12000",
                json!({"requisition_id": req, "bank_account": "6222020200112233445"}),
            ),
        )
        .await;
    assert_eq!(li.status, StatusCode::CREATED, "{}", li.body);
    let plan = api.get("/api/v1/hr/headcount-plan?year=2026").await.json();
    assert_eq!(
        (
            plan["items"][0]["actual"].as_i64(),
            plan["items"][0]["open"].as_i64(),
            plan["items"][0]["remaining"].as_i64()
        ),
        (Some(2), Some(0), Some(0)),
        "{plan}"
    );
    let requisitions = api.get("/api/v1/hr/requisitions").await.json();
    assert_eq!(requisitions["items"][0]["status"], "filled");

    // He completes his onboarding.
    for item in ["contract_signed", "medical_check", "accounts_opened", "orientation"] {
        let done = api.post(&format!("/api/v1/hr/employees/{zhang_id}/onboarding"), &json!({"item": item})).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    }
    let again = api.post(&format!("/api/v1/hr/employees/{zhang_id}/onboarding"), &json!({"item": "orientation"})).await;
    assert_eq!(again.json()["errors"][0]["code"], "error.hr.onboarding_item");

    // The first quarter's review: 60 % revenue at 95, 40 % new customers at 90 → 93, an A.
    let review = api
        .post(
            "/api/v1/hr/reviews",
            &json!({"employee_id": zhang_id, "cycle": "quarterly", "period": "2026-Q1", "goals": [
                {"title": "季度回款", "weight": 60, "target": "80 万"}, {"title": "新客户", "weight": 40, "target": "10 家"}]}),
        )
        .await;
    assert_eq!(review.status, StatusCode::CREATED, "{}", review.body);
    let review_id = review.json()["id"].as_i64().unwrap();
    let own = app.api("zhang.wei").await;
    let self_scored =
        own.post(&format!("/api/v1/hr/reviews/{review_id}/scores"), &json!({"by": "self", "scores": [90, 85]})).await;
    assert_eq!(self_scored.status, StatusCode::OK, "{}", self_scored.body);
    let not_his = own
        .post(&format!("/api/v1/hr/reviews/{review_id}/scores"), &json!({"by": "manager", "scores": [100, 100]}))
        .await;
    assert_eq!(not_his.status, StatusCode::FORBIDDEN, "he cannot score himself as his manager");
    // His manager's scores typed on the page, the second in words: refused on that goal's row,
    // both scores and the manager's choice as typed.
    let review_field = review_id.to_string();
    let refused = app
        .signed_in("admin")
        .await
        .post_form(
            "/hr/reviews",
            "/hr/reviews",
            &[("action", "score"), ("review_id", &review_field), ("by", "manager"), ("score", "95"), ("score", "九十")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let form = refused.body.split(&format!("id=\"review-{review_id}\"")).nth(1).expect("the review's form");
    let form = &form[..form.find("</form>").expect("form end")];
    assert!(form.contains("value=\"95\"") && form.contains("value=\"九十\""), "{form}");
    assert!(form.contains("<option value=\"manager\" selected>"), "{form}");
    api.post(&format!("/api/v1/hr/reviews/{review_id}/scores"), &json!({"by": "manager", "scores": [95, 90]})).await;
    let final_review = api.post(&format!("/api/v1/hr/reviews/{review_id}/finalise"), &json!({})).await.json();
    assert_eq!(
        (final_review["manager_score"].as_str(), final_review["rating"].as_str()),
        (Some("93.00"), Some("A")),
        "{final_review}"
    );

    // March's payroll, with ten hours of his overtime.
    let run = api
        .post("/api/v1/hr/payroll-runs", &json!({"period": "2026-03", "inputs": [{"employee": "EMP/000001", "code": "overtime_hours", "amount": "10"}]}))
        .await;
    assert_eq!(run.status, StatusCode::CREATED, "{}", run.body);
    let run = run.json();
    let run_id = run["id"].as_i64().unwrap();
    let slips = api.get(&format!("/api/v1/hr/payslips?run={run_id}")).await.json();
    let zhang_slip = slip_of(&slips, "张伟");
    // 20,000 + overtime 20,000 ÷ 21.75 ÷ 8 × 1.5 × 10 = 1,724.14 + bonus 6,000 × 150 % = 9,000.
    assert_eq!(zhang_slip["gross"], "30724.14");
    // Social insurance on 20,000: 8 % + 2 % + 0.5 %, housing fund 7 %.
    assert_eq!(
        [
            &zhang_slip["pension_employee"],
            &zhang_slip["medical_employee"],
            &zhang_slip["unemployment_employee"],
            &zhang_slip["housing_employee"]
        ],
        ["1600.00", "400.00", "100.00", "1400.00"]
    );
    // Taxable: 30,724.14 − 5,000 − 3,500 − 2,000 = 20,224.14 at 3 % = 606.72.
    assert_eq!(
        (zhang_slip["cumulative_taxable"].as_str(), zhang_slip["iit"].as_str()),
        (Some("20224.14"), Some("606.72"))
    );
    assert_eq!(zhang_slip["net"], "26617.42");
    assert_eq!(zhang_slip["employer_contributions"], "6752.00", "16 % + 10 % + 0.5 % + 0.26 % + 7 % of 20,000");
    // 李娜 worked 12 of March's 22 working days: 6,545.45; contributions on her 12,000 base
    // are 2,100; no tax.
    let li_slip = slip_of(&slips, "李娜");
    assert_eq!(
        (
            li_slip["gross"].as_str(),
            li_slip["iit"].as_str(),
            li_slip["net"].as_str(),
            li_slip["employer_contributions"].as_str()
        ),
        (Some("6545.45"), Some("0.00"), Some("4445.45"), Some("4051.20"))
    );
    assert_eq!((run["gross"].as_str(), run["net"].as_str()), (Some("37269.59"), Some("31062.87")));

    // Posting writes one voucher: wages and contributions to selling expenses, withholdings
    // from 2211 to 2241 and 222103.
    let posted = api.post(&format!("/api/v1/hr/payroll-runs/{run_id}/post"), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    let number = posted.json()["entry_number"].as_str().unwrap().to_string();
    let s = |a: &str, d: &str, c: &str| (a.to_string(), d.to_string(), c.to_string());
    assert_eq!(
        voucher(app, &number).await,
        [
            s("6601", "48072.79", "0.00"),
            s("2211", "0.00", "48072.79"),
            s("2211", "6206.72", "0.00"),
            s("2241", "0.00", "5600.00"),
            s("222103", "0.00", "606.72"),
        ]
    );
    // Posted is final: neither a second post nor a second regular run of March.
    assert_eq!(
        api.post(&format!("/api/v1/hr/payroll-runs/{run_id}/post"), &json!({})).await.status,
        StatusCode::CONFLICT
    );
    let rerun = api.post("/api/v1/hr/payroll-runs", &json!({"period": "2026-03"})).await;
    assert_eq!(rerun.status, StatusCode::CONFLICT, "{}", rerun.body);
    assert!(rerun.body.contains("off-cycle"), "{}", rerun.body);

    // The bank file pays each their net to their account.
    let file = api.get(&format!("/api/v1/hr/payroll-runs/{run_id}/bank-file")).await;
    assert!(file.body.contains("EMP/000001,张伟,招商银行上海分行,6225881234567890,26617.42"), "{}", file.body);
    assert!(file.body.contains("李娜") && file.body.contains("4445.45"), "{}", file.body);

    // Five hours of overtime were forgotten: an off-cycle run pays just those (862.07), with
    // no second month of salary or contributions; the year's tax takes them in: 21,086.21
    // taxable → 632.59, of which 606.72 was withheld.
    let correction = api
        .post("/api/v1/hr/payroll-runs", &json!({"period": "2026-03", "kind": "off_cycle", "inputs": [{"employee": "EMP/000001", "code": "overtime_hours", "amount": "5"}]}))
        .await;
    assert_eq!(correction.status, StatusCode::CREATED, "{}", correction.body);
    let correction = correction.json();
    assert_eq!(
        (correction["employees"].as_i64(), correction["gross"].as_str()),
        (Some(1), Some("862.07")),
        "{correction}"
    );
    let fix = api.get(&format!("/api/v1/hr/payslips?run={}", correction["id"])).await.json();
    assert_eq!(
        (
            fix["items"][0]["months"].as_i64(),
            fix["items"][0]["pension_employee"].as_str(),
            fix["items"][0]["iit"].as_str()
        ),
        (Some(1), Some("0.00"), Some("25.87")),
        "{fix}"
    );
    assert_eq!(
        api.post(&format!("/api/v1/hr/payroll-runs/{}/post", correction["id"]), &json!({})).await.status,
        StatusCode::OK
    );

    // April: the bonus was paid in March, and the year carries on: 51,586.21 − 10,000 −
    // 7,000 − 4,000 = 30,586.21 → 917.59 cumulative, 285.00 this month.
    let april = api.post("/api/v1/hr/payroll-runs", &json!({"period": "2026-04"})).await;
    assert_eq!(april.status, StatusCode::CREATED, "{}", april.body);
    let april_id = april.json()["id"].as_i64().unwrap();
    let april_slips = api.get(&format!("/api/v1/hr/payslips?run={april_id}")).await.json();
    let zhang_april = slip_of(&april_slips, "张伟");
    assert_eq!(
        (
            zhang_april["gross"].as_str(),
            zhang_april["months"].as_i64(),
            zhang_april["cumulative_tax"].as_str(),
            zhang_april["iit"].as_str()
        ),
        (Some("20000.00"), Some(2), Some("917.59"), Some("285.00")),
        "{zhang_april}"
    );

    // 张伟 reads his own posted payslips (March and its correction; April is a draft), and
    // only his.
    let mine = own.get("/api/v1/hr/payslips").await.json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 2, "{mine}");
    assert!(mine["items"].as_array().unwrap().iter().all(|s| s["name"] == "张伟"));
    let li_slip_id = li_slip["id"].as_i64().unwrap();
    assert_eq!(own.get(&format!("/api/v1/hr/payslips/{li_slip_id}")).await.status, StatusCode::NOT_FOUND);
    let browser = app.signed_in("zhang.wei").await;
    let page = browser.get("/hr/my/payslips").await;
    assert!(page.status == StatusCode::OK && page.body.contains("2026-03"), "{}", page.body);
    let print = browser.get(&format!("/hr/payslips/{}", zhang_slip["id"])).await;
    assert!(print.body.contains("26,617.42") || print.body.contains("26617.42"), "{}", print.body);
}

#[tokio::test]
async fn a_payroll_run_stops_at_the_employee_it_cannot_pay_and_stores_nothing() {
    let c = company().await;
    let api = &c.api;
    api.post("/api/v1/hr/employees", &hire_body(&c, "王磊", "11010519491231002X", "2026-03-02", "15000", json!({})))
        .await;
    // Beijing has no social insurance rule yet.
    let hired = api
        .post(
            "/api/v1/hr/employees",
            &hire_body(&c, "赵敏", "440524188001010014", "2026-03-02", "18000", json!({"city": "北京"})),
        )
        .await;
    assert_eq!(hired.status, StatusCode::CREATED, "{}", hired.body);
    let refused = api.post("/api/v1/hr/payroll-runs", &json!({"period": "2026-03"})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let error = &refused.json()["errors"][0];
    assert_eq!(error["code"], "error.hr.payslip");
    assert!(
        error["message"].as_str().unwrap().contains("EMP/000002 赵敏")
            && error["message"].as_str().unwrap().contains("北京"),
        "{error}"
    );
    assert_eq!(c.app.count("hr_payroll_runs").await, 0);
    assert_eq!(c.app.count("hr_payslips").await, 0);
    // Nonsense inputs are named by their place.
    let bad = api
        .post(
            "/api/v1/hr/payroll-runs",
            &json!({"period": "2026-13", "inputs": [{"employee": "EMP/000001", "code": "tips", "amount": "-1"}]}),
        )
        .await;
    let fields: Vec<String> =
        bad.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
    assert_eq!(fields, ["period"], "{}", bad.body);
    let bad = api
        .post(
            "/api/v1/hr/payroll-runs",
            &json!({"period": "2026-03", "inputs": [{"employee": "EMP/000009", "code": "tips", "amount": "-1"},
            {"employee": "EMP/000001", "code": "overtime_hours", "amount": "1.234"}]}),
        )
        .await;
    let fields: Vec<String> =
        bad.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
    assert_eq!(fields, ["inputs[0].employee", "inputs[1].amount"], "{}", bad.body);
    assert_eq!(c.app.count("hr_payroll_runs").await, 0);
}

#[tokio::test]
async fn pay_id_numbers_and_bank_accounts_are_for_hr_payroll_and_the_employee_only() {
    let c = company().await;
    let (app, api) = (&c.app, &c.api);
    let zhang_user = app.user("zhang.wei", &[], "", "sales").await;
    app.user("liu.yang", &["hr_officer"], "", "hr").await;
    app.user("zhao.min", &["line_manager"], "", "sales").await;
    let hired = api
        .post(
            "/api/v1/hr/employees",
            &hire_body(&c, "张伟", "11010519491231002X", "2026-03-02", "20000", json!({"user_id": zhang_user})),
        )
        .await;
    let id = hired.json()["id"].as_i64().unwrap();
    api.post("/api/v1/hr/payroll-runs", &json!({"period": "2026-03"})).await;
    let run = api.get("/api/v1/hr/payroll-runs").await.json()["items"][0]["id"].as_i64().unwrap();
    // A draft has no bank file yet: net pay leaves once the run is posted.
    assert_eq!(api.get(&format!("/api/v1/hr/payroll-runs/{run}/bank-file")).await.status, StatusCode::CONFLICT);
    assert_eq!(api.post(&format!("/api/v1/hr/payroll-runs/{run}/post"), &json!({})).await.status, StatusCode::OK);

    // The line manager reads the employee without pay, the ID number masked; no payroll.
    let manager = app.api("zhao.min").await;
    let seen = manager.get(&format!("/api/v1/hr/employees/{id}")).await.json();
    assert!(seen.get("pay").is_none(), "{seen}");
    assert_eq!(seen["id_number"], "110105********002X");
    let list = manager.get("/api/v1/hr/employees").await.json();
    assert_eq!(list["items"][0]["id_number"], "110105********002X");
    assert!(!list.to_string().contains("20000"), "{list}");
    for path in [
        format!("/api/v1/hr/payroll-runs/{run}/bank-file"),
        format!("/api/v1/hr/payroll-runs/{run}"),
        "/api/v1/hr/payroll-runs".into(),
    ] {
        assert_eq!(manager.get(&path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(manager.get("/api/v1/hr/payslips").await.json()["items"], json!([]));
    assert_eq!(
        manager.post("/api/v1/hr/iit/preview", &json!({"months": [{"wages": "1"}]})).await.status,
        StatusCode::FORBIDDEN
    );
    let browser = app.signed_in("zhao.min").await;
    let page = browser.get(&format!("/hr/employees/{id}")).await;
    assert!(
        page.status == StatusCode::OK && !page.body.contains("base-salary") && !page.body.contains("6225881234567890"),
        "{}",
        page.body
    );
    assert_eq!(browser.get(&format!("/hr/payroll/{run}")).await.status, StatusCode::FORBIDDEN);

    // HR reads it all, and the full read is on the audit chain.
    let hr = app.api("liu.yang").await;
    let full = hr.get(&format!("/api/v1/hr/employees/{id}")).await.json();
    assert_eq!(
        (full["id_number"].as_str(), full["pay"]["bank_account"].as_str()),
        (Some("11010519491231002X"), Some("6225881234567890"))
    );
    assert_eq!(hr.get(&format!("/api/v1/hr/payroll-runs/{run}/bank-file")).await.status, StatusCode::OK);
    assert_eq!(app.count("audit_log WHERE action = 'export' AND resource = 'hr.payroll_run'").await, 1);
    assert!(app.count("audit_log WHERE action = 'read' AND resource = 'hr.employee'").await >= 1);

    // The employee reads their own record in full, and nobody else's.
    let own = app.api("zhang.wei").await;
    let mine = own.get(&format!("/api/v1/hr/employees/{id}")).await.json();
    assert_eq!(mine["pay"]["base_salary"], "20000.00", "{mine}");
    let other = api
        .post("/api/v1/hr/employees", &hire_body(&c, "李娜", "440524188001010014", "2026-03-16", "12000", json!({})))
        .await;
    let other = other.json()["id"].as_i64().unwrap();
    assert_eq!(own.get(&format!("/api/v1/hr/employees/{other}")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(own.get("/api/v1/hr/employees").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_requisition_beyond_the_plan_needs_the_extra_approval() {
    let c = company().await;
    let (app, api) = (&c.app, &c.api);
    api.post(
        "/api/v1/hr/headcount-plan",
        &json!({"year": 2026, "rows": [{"department_id": c.sales, "position_id": c.lead, "approved": 1}]}),
    )
    .await;
    app.user("zhao.min", &["line_manager"], "", "sales").await;
    app.user("chen.jing", &["hr_manager"], "", "hr").await;
    let manager = app.api("zhao.min").await;
    let within = manager
        .post(
            "/api/v1/hr/requisitions",
            &json!({"year": 2026, "department_id": c.sales, "position_id": c.lead, "heads": 1}),
        )
        .await
        .json();
    let beyond = manager
        .post(
            "/api/v1/hr/requisitions",
            &json!({"year": 2026, "department_id": c.sales, "position_id": c.lead, "heads": 2, "reason": "新开华南区"}),
        )
        .await
        .json();
    assert_eq!((within["beyond_plan"].as_bool(), beyond["beyond_plan"].as_bool()), (Some(false), Some(true)));
    // The line manager approves within the plan but not beyond it; the HR manager may.
    let approve = |who: &'static str, id: &Value| {
        let path = format!("/api/v1/hr/requisitions/{}/approve", id["id"]);
        async move { app.api(who).await.post(&path, &json!({})).await.status }
    };
    assert_eq!(approve("zhao.min", &within).await, StatusCode::OK);
    assert_eq!(approve("zhao.min", &beyond).await, StatusCode::FORBIDDEN);
    assert_eq!(approve("chen.jing", &beyond).await, StatusCode::OK);
    let plan = api.get("/api/v1/hr/headcount-plan?year=2026").await.json();
    assert_eq!(
        (plan["totals"]["approved"].as_i64(), plan["totals"]["open"].as_i64(), plan["totals"]["remaining"].as_i64()),
        (Some(1), Some(3), Some(-2))
    );

    // The page shows the plan, a chart and the requisitions; a bad number is refused there.
    let browser = app.signed_in("admin").await;
    let page = browser.get("/hr/headcount?year=2026").await;
    assert!(page.body.contains("<svg") && page.body.contains("REQ/2026/0002"), "{}", page.body);
    let refused = browser
        .post_form(
            "/hr/headcount?year=2026",
            "/hr/headcount",
            &[
                ("action", "plan"),
                ("year", "2026"),
                ("department_id", &c.admin_department.to_string()),
                ("position_id", &c.lead.to_string()),
                ("approved", "-3"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("role=\"alert\""), "{}", refused.body);
}

#[tokio::test]
async fn the_tax_calculator_reproduces_the_worked_example_and_a_bonus() {
    let c = company().await;
    let month = json!({"wages": "20000", "special": "3000", "additional": "2000"});
    let preview = c
        .api
        .post(
            "/api/v1/hr/iit/preview",
            &json!({"months": [month, month, month, month, month], "annual_bonus": "36001"}),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    let preview = preview.json();
    let taxes: Vec<&str> = preview["months"].as_array().unwrap().iter().map(|m| m["tax"].as_str().unwrap()).collect();
    assert_eq!(taxes, ["300.00", "300.00", "300.00", "580.00", "1000.00"]);
    assert_eq!((preview["total"].as_str(), preview["annual_bonus_tax"].as_str()), (Some("2480.00"), Some("3390.10")));
    let bad = c.api.post("/api/v1/hr/iit/preview", &json!({"months": [{"wages": "abc"}]})).await;
    assert_eq!(bad.json()["errors"][0]["field"], "months[0].wages");

    // The same on the page.
    let browser = c.app.signed_in("admin").await;
    let pairs: Vec<(&str, &str)> =
        (0..5).flat_map(|_| [("wages", "20000"), ("special", "3000"), ("additional", "2000"), ("other", "")]).collect();
    let page = browser.post_form("/hr/iit", "/hr/iit", &pairs).await;
    assert!(
        page.status == StatusCode::OK && page.body.contains("iit-result") && page.body.contains("580.00"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_hire_with_a_wrong_id_number_is_refused_next_to_the_field_and_nothing_is_stored() {
    let c = company().await;
    let browser = c.app.signed_in("admin").await;
    let (sales, rep) = (c.sales.to_string(), c.rep.to_string());
    let refused = browser
        .post_form(
            "/hr/employees",
            "/hr/employees",
            &[
                ("name", "王芳"),
                ("id_number", "110105194912310021"),
                ("department_id", &sales),
                ("position_id", &rep),
                ("hire_date", "2026-03-02"),
                ("contract_kind", "fixed"),
                ("contract_end", "2026-01-01"),
                ("base_salary", "9000"),
                ("bank_account", "12ab"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.matches("role=\"alert\"").count() >= 3, "{}", refused.body);
    assert!(refused.body.contains("value=\"王芳\""), "what was typed stays: {}", refused.body);
    assert_eq!(c.app.count("hr_employees").await, 0);
    assert_eq!(c.app.count("parties").await, 0);
    let hired = browser
        .post_form(
            "/hr/employees",
            "/hr/employees",
            &[
                ("name", "王芳"),
                ("id_number", "11010519491231002X"),
                ("department_id", &sales),
                ("position_id", &rep),
                ("hire_date", "2026-03-02"),
                ("contract_kind", "open"),
                ("base_salary", "9000"),
            ],
        )
        .await;
    assert_eq!(hired.status, StatusCode::SEE_OTHER, "{}", hired.body);
    assert_eq!(c.app.count("hr_employee_events WHERE kind = 'hire'").await, 1);
    assert_eq!(c.app.count("party_roles WHERE role = 'employee'").await, 1);
}

#[tokio::test]
async fn an_employee_is_promoted_transferred_and_leaves_and_every_step_is_dated_on_the_pages() {
    let c = company().await;
    let (app, api) = (&c.app, &c.api);
    let hired = api
        .post("/api/v1/hr/employees", &hire_body(&c, "张伟", "11010519491231002X", "2026-01-05", "15000", json!({})))
        .await;
    let id = hired.json()["id"].as_i64().unwrap();
    let change = |body: Value| {
        let path = format!("/api/v1/hr/employees/{id}/changes");
        async move { api.post(&path, &body).await }
    };
    // Promoted to lead at 18,000 from 1 March; a stale version is refused.
    let promoted = change(json!({"kind": "promotion", "effective_date": "2026-03-01", "position_id": c.lead, "base_salary": "18000", "reason": "年度晋升", "version": 1})).await;
    assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.body);
    let promoted = promoted.json();
    assert_eq!(
        (promoted["position"].as_str(), promoted["grade_since"].as_str(), promoted["pay"]["base_salary"].as_str()),
        (Some("销售主管"), Some("2026-03-01"), Some("18000.00"))
    );
    let stale = change(
        json!({"kind": "transfer", "effective_date": "2026-03-10", "department_id": c.admin_department, "version": 1}),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    let moved = change(
        json!({"kind": "transfer", "effective_date": "2026-03-10", "department_id": c.admin_department, "version": 2}),
    )
    .await;
    assert_eq!(moved.json()["department"], "总经办");
    let early = change(json!({"kind": "exit", "effective_date": "2025-12-31", "version": 3})).await;
    assert_eq!(early.json()["errors"][0]["field"], "effective_date");
    let left =
        change(json!({"kind": "exit", "effective_date": "2026-03-31", "reason": "个人原因", "version": 3})).await;
    let left = left.json();
    assert_eq!((left["status"].as_str(), left["exit_date"].as_str()), (Some("exited"), Some("2026-03-31")));
    let kinds: Vec<&str> = left["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["hire", "promotion", "transfer", "exit"]);
    assert_eq!(app.count("outbox WHERE event_type = 'hr.EmployeeExited'").await, 1);
    // An exited employee is not paid in April.
    api.post("/api/v1/hr/employees", &hire_body(&c, "李娜", "440524188001010014", "2026-01-05", "12000", json!({})))
        .await;
    let april = api.post("/api/v1/hr/payroll-runs", &json!({"period": "2026-04"})).await.json();
    assert_eq!(april["employees"], 1, "{april}");

    // Every HR page renders for the administrator.
    let browser = app.signed_in("admin").await;
    for path in [
        "/hr/employees".to_string(),
        format!("/hr/employees/{id}"),
        format!("/hr/employees?department={}", c.sales),
        "/hr/organisation".into(),
        "/hr/headcount".into(),
        "/hr/reviews".into(),
        "/hr/payroll".into(),
        format!("/hr/payroll/{}", april["id"]),
        "/hr/iit".into(),
        "/hr/my/payslips".into(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
    }
    let organisation = browser.get("/hr/organisation").await;
    assert!(organisation.body.contains("销售部") && organisation.body.contains("6601"), "{}", organisation.body);
    // A department under an unknown parent is refused next to the field.
    let refused = browser
        .post_form(
            "/hr/organisation",
            "/hr/organisation",
            &[("action", "department"), ("code", "R&D"), ("name", "研发部"), ("parent", "NOPE")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.matches("role=\"alert\"").count() >= 2, "{}", refused.body);
    // The refused form comes back as typed; the position form beside it stays empty.
    assert!(
        refused.body.contains("id=\"d-name\" name=\"name\" maxlength=\"100\" value=\"研发部\""),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("id=\"p-title\" name=\"title\" maxlength=\"100\" value=\"\""), "{}", refused.body);
}

#[tokio::test]
async fn a_leave_request_over_the_new_year_is_refused_beside_its_last_day_and_comes_back_as_typed() {
    let c = company().await;
    let hired = c
        .api
        .post("/api/v1/hr/employees", &hire_body(&c, "王芳", "11010519491231002X", "2026-03-02", "9000", json!({})))
        .await;
    assert_eq!(hired.status, StatusCode::CREATED, "{}", hired.body);
    let employee = hired.json()["id"].as_i64().unwrap().to_string();
    let browser = c.app.signed_in("admin").await;
    let refused = browser
        .post_form(
            "/hr/attendance",
            "/hr/attendance",
            &[
                ("action", "leave"),
                ("employee_id", &employee),
                ("leave_type", "sick"),
                ("first_day", "2026-12-28"),
                ("last_day", "2027-01-04"),
                ("reason", "回老家看病"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("2026-12-31"), "the message names the year's last day: {}", refused.body);
    for typed in [
        "id=\"lv-first\" name=\"first_day\" type=\"date\" value=\"2026-12-28\"",
        "id=\"lv-last\" name=\"last_day\" type=\"date\" value=\"2027-01-04\"",
        "value=\"回老家看病\"",
        "<option value=\"sick\" selected>",
    ] {
        assert!(refused.body.contains(typed), "{typed} stays as typed: {}", refused.body);
    }
    assert!(refused.body.contains(&format!("<option value=\"{employee}\" selected>")), "{}", refused.body);
    // The other forms of the page keep their usual values: the roster starts today.
    assert!(!refused.body.contains("id=\"ro-first\" name=\"first_day\" type=\"date\" value=\"2026-12-28\""));
    assert_eq!(c.app.count("hr_leave_requests").await, 0);
}

#[tokio::test]
async fn next_years_forecast_from_planned_revenue_and_attrition_becomes_the_plan() {
    let c = company().await;
    let (app, api) = (&c.app, &c.api);
    // Three representatives today; one left in the last twelve months.
    for (name, id_number) in
        [("王芳", "11010519491231002X"), ("李强", "440524188001010014"), ("赵敏", "11010519491231002X")]
    {
        let hired =
            api.post("/api/v1/hr/employees", &hire_body(&c, name, id_number, "2025-06-02", "9000", json!({}))).await;
        assert_eq!(hired.status, StatusCode::CREATED, "{}", hired.body);
    }
    let leaver = api
        .post("/api/v1/hr/employees", &hire_body(&c, "孙浩", "440524188001010014", "2025-06-02", "9000", json!({})))
        .await;
    let leaver = leaver.json()["id"].as_i64().unwrap();
    api.post(
        &format!("/api/v1/hr/employees/{leaver}/changes"),
        &json!({"kind": "exit", "effective_date": "2026-01-31", "version": 1}),
    )
    .await;

    // 2027: 10,000,000 of planned revenue at one representative per 2,000,000 → 5 needed;
    // attrition 1 of 4 (25 %) → 1 expected to leave (5 × 25 % = 1.25); 5 − 3 + 1 = 3 hires.
    // One lead as a fixed head.
    let forecast = api
        .post(
            "/api/v1/hr/forecasts",
            &json!({"year": 2027, "lines": [
                {"department_id": c.sales, "position_id": c.rep, "driver": "计划收入", "value": "10000000", "per_head": "2000000"},
                {"department_id": c.sales, "position_id": c.lead, "driver": "编制", "value": "1", "per_head": "1"}]}),
        )
        .await;
    assert_eq!(forecast.status, StatusCode::CREATED, "{}", forecast.body);
    let forecast = forecast.json();
    let rep = &forecast["lines"][0];
    assert_eq!(
        (
            rep["current_heads"].as_i64(),
            rep["attrition_bp"].as_i64(),
            rep["needed"].as_i64(),
            rep["expected_exits"].as_i64(),
            rep["hires"].as_i64()
        ),
        (Some(3), Some(2_500), Some(5), Some(1), Some(3)),
        "{forecast}"
    );
    assert_eq!(rep["quarters"], json!([1, 1, 1, 0]));
    assert_eq!(forecast["lines"][1]["hires"], 1);
    let bad = api
        .post("/api/v1/hr/forecasts", &json!({"year": 2027, "lines": [{"department_id": c.sales, "position_id": c.rep, "driver": "收入", "value": "-1", "per_head": "0"}]}))
        .await;
    let fields: Vec<String> =
        bad.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
    assert_eq!(fields, ["lines[0].value", "lines[0].per_head"], "{}", bad.body);

    // Applied, it is 2027's plan: five representatives and a lead.
    let applied = api.post(&format!("/api/v1/hr/forecasts/{}/apply", forecast["id"]), &json!({})).await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);
    let plan = api.get("/api/v1/hr/headcount-plan?year=2027").await.json();
    assert_eq!(plan["totals"]["approved"], 6, "{plan}");
    let browser = app.signed_in("admin").await;
    let page = browser.get("/hr/forecasts").await;
    assert!(
        page.status == StatusCode::OK && page.body.contains("FC/2027/001") && page.body.contains("25.00%"),
        "{}",
        page.body
    );
    // The same refusal on the page: each row as typed, the messages on the row they are about.
    let (sales, rep) = (c.sales.to_string(), c.rep.to_string());
    let refused = browser
        .post_form(
            "/hr/forecasts",
            "/hr/forecasts",
            &[
                ("action", "create"),
                ("year", "2028"),
                ("department_id", &sales),
                ("position_id", &rep),
                ("driver", "收入"),
                ("value", "1200000"),
                ("per_head", "300000"),
                ("department_id", &sales),
                ("position_id", &rep),
                ("driver", "客户数"),
                ("value", "-1"),
                ("per_head", "40"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let rows: Vec<&str> = refused.body.split("<tbody>").last().expect("the form's rows").split("</tr>").collect();
    assert!(rows[0].contains("value=\"1200000\"") && !rows[0].contains("role=\"alert\""), "{}", rows[0]);
    assert!(rows[1].contains("value=\"客户数\"") && rows[1].contains("value=\"-1\""), "{}", rows[1]);
    assert!(rows[1].contains("role=\"alert\""), "the message on the second row: {}", rows[1]);
    assert!(rows[1].contains(&format!("<option value=\"{rep}\" selected>")), "{}", rows[1]);
}

#[tokio::test]
async fn the_sales_ladder_lists_who_may_be_promoted_now() {
    let c = company().await;
    let (app, api) = (&c.app, &c.api);
    // 专员 → 主管 after 12 months in grade with at least a B.
    let step = api
        .post(
            "/api/v1/hr/career-paths",
            &json!({"from_position_id": c.rep, "to_position_id": c.lead, "min_months": 12, "min_rating": "B"}),
        )
        .await;
    assert_eq!(step.status, StatusCode::OK, "{}", step.body);
    let backwards = api
        .post(
            "/api/v1/hr/career-paths",
            &json!({"from_position_id": c.lead, "to_position_id": c.rep, "min_months": 12, "min_rating": "Q"}),
        )
        .await;
    let fields: Vec<String> = backwards.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["to_position_id", "min_rating"], "{}", backwards.body);

    // 王芳: 14 months, rated A. 李强: 14 months, rated C. 赵敏: 6 months, rated A.
    let mut ids = Vec::new();
    for (name, id_number, hired) in [
        ("王芳", "11010519491231002X", "2025-01-06"),
        ("李强", "440524188001010014", "2025-01-06"),
        ("赵敏", "11010519491231002X", "2025-09-01"),
    ] {
        let made = api.post("/api/v1/hr/employees", &hire_body(&c, name, id_number, hired, "9000", json!({}))).await;
        ids.push(made.json()["id"].as_i64().unwrap());
    }
    for (id, scores) in ids.iter().zip([[95, 92], [72, 70], [96, 94]]) {
        let review = api
            .post(
                "/api/v1/hr/reviews",
                &json!({"employee_id": id, "cycle": "annual", "period": "2025", "goals": [
                {"title": "回款", "weight": 50}, {"title": "新客户", "weight": 50}]}),
            )
            .await
            .json();
        let rid = review["id"].as_i64().unwrap();
        api.post(&format!("/api/v1/hr/reviews/{rid}/scores"), &json!({"by": "manager", "scores": scores})).await;
        api.post(&format!("/api/v1/hr/reviews/{rid}/finalise"), &json!({})).await;
    }
    let eligible = api.get("/api/v1/hr/career-paths/eligible").await.json();
    let names: Vec<&str> = eligible["items"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["王芳"], "{eligible}");
    assert_eq!(
        (eligible["items"][0]["months_in_grade"].as_i64(), eligible["items"][0]["rating"].as_str()),
        (Some(14), Some("A"))
    );
    let page = app.signed_in("admin").await.get("/hr/careers").await;
    assert!(
        page.status == StatusCode::OK && page.body.contains("王芳") && !page.body.contains("李强"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_course_closes_a_career_requirement_and_its_effect_is_measured_at_four_levels() {
    let c = company().await;
    let (app, api) = (&c.app, &c.api);
    let course = api.post("/api/v1/hr/courses", &json!({"code": "NEG-1", "title": "大客户谈判", "hours": 16})).await;
    assert_eq!(course.status, StatusCode::CREATED, "{}", course.body);
    let course = course.json()["id"].as_i64().unwrap();
    // The step to lead now also needs the negotiation course.
    api.post(
        "/api/v1/hr/career-paths",
        &json!({"from_position_id": c.rep, "to_position_id": c.lead, "min_months": 12, "min_rating": "B", "required_course_id": course}),
    )
    .await;
    let mut ids = Vec::new();
    for (name, id_number) in [("王芳", "11010519491231002X"), ("李强", "440524188001010014")] {
        let made =
            api.post("/api/v1/hr/employees", &hire_body(&c, name, id_number, "2025-01-06", "9000", json!({}))).await;
        ids.push(made.json()["id"].as_i64().unwrap());
    }
    // 李强 was rated D: a performance gap. Both lack the course the step requires.
    let review = api
        .post("/api/v1/hr/reviews", &json!({"employee_id": ids[1], "cycle": "annual", "period": "2025", "goals": [{"title": "回款", "weight": 100}]}))
        .await
        .json();
    let rid = review["id"].as_i64().unwrap();
    api.post(&format!("/api/v1/hr/reviews/{rid}/scores"), &json!({"by": "manager", "scores": [62]})).await;
    api.post(&format!("/api/v1/hr/reviews/{rid}/finalise"), &json!({})).await;
    let review = api
        .post("/api/v1/hr/reviews", &json!({"employee_id": ids[0], "cycle": "annual", "period": "2025", "goals": [{"title": "回款", "weight": 100}]}))
        .await
        .json();
    let rid = review["id"].as_i64().unwrap();
    api.post(&format!("/api/v1/hr/reviews/{rid}/scores"), &json!({"by": "manager", "scores": [93]})).await;
    api.post(&format!("/api/v1/hr/reviews/{rid}/finalise"), &json!({})).await;
    let needs = api.get("/api/v1/hr/training/needs").await.json();
    let reasons: Vec<(String, String)> = needs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["employee"].as_str().unwrap().to_string(), n["reason"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("EMP/000002 李强".to_string(), "performance".to_string()),
            ("EMP/000001 王芳".to_string(), "career".to_string()),
            ("EMP/000002 李强".to_string(), "career".to_string())
        ]
    );
    assert_eq!(api.get("/api/v1/hr/career-paths/eligible").await.json()["items"], json!([]), "not before the course");

    // The year's plan: three of sales on the course within 2,000.00; no heads is refused.
    let plan = |heads: i64| json!({"year": 2026, "department_id": c.sales, "course_id": course, "heads": heads, "budget": "2000.00"});
    let empty = api.post("/api/v1/hr/training/plan", &plan(0)).await;
    assert_eq!(empty.json()["errors"][0]["field"], "heads", "{}", empty.body);
    assert_eq!(api.post("/api/v1/hr/training/plan", &plan(3)).await.status, StatusCode::CREATED);

    // A session for two, costing 1,800.00: both attend; tests 60 → 85 and 50 → 70; reaction 5
    // and 4.
    let session = api
        .post(
            &format!("/api/v1/hr/courses/{course}/sessions"),
            &json!({"starts_on": "2026-03-20", "trainer": "周老师", "capacity": 2, "cost": "1800.00"}),
        )
        .await;
    let session = session.json()["id"].as_i64().unwrap();
    let enrolled = api.post(&format!("/api/v1/hr/sessions/{session}/enrolments"), &json!({"employee_ids": ids})).await;
    assert_eq!(enrolled.json()["enrolled"], 2, "{}", enrolled.body);
    let third = api
        .post("/api/v1/hr/employees", &hire_body(&c, "赵敏", "11010519491231002X", "2025-01-06", "9000", json!({})))
        .await;
    let full = api
        .post(&format!("/api/v1/hr/sessions/{session}/enrolments"), &json!({"employee_ids": [third.json()["id"]]}))
        .await;
    assert_eq!(full.json()["errors"][0]["code"], "error.hr.session_full", "{}", full.body);
    for (id, reaction, pre, post) in [(ids[0], 5, 60, 85), (ids[1], 4, 50, 70)] {
        let evaluated = api
            .post(
                &format!("/api/v1/hr/sessions/{session}/evaluations"),
                &json!({"employee_id": id, "attended": true, "reaction": reaction, "pre_score": pre, "post_score": post, "behaviour": 4, "result": 3}),
            )
            .await;
        assert_eq!(evaluated.status, StatusCode::OK, "{}", evaluated.body);
    }
    let wrong = api
        .post(
            &format!("/api/v1/hr/sessions/{session}/evaluations"),
            &json!({"employee_id": ids[0], "attended": true, "reaction": 9}),
        )
        .await;
    assert_eq!(wrong.json()["errors"][0]["field"], "reaction");
    let effect = api.get("/api/v1/hr/training/effectiveness").await.json();
    assert_eq!(
        effect["items"][0],
        json!({"course_id": course, "course": "NEG-1 大客户谈判", "enrolled": 2, "attended": 2, "completed": 2, "reaction": "4.50",
            "pre_score": "55.00", "post_score": "77.50", "gain": "22.50", "behaviour": "4.00", "result": "3.00"})
    );
    // The course done, 王芳 (14 months, A) may be promoted; 李强's gap remains, and 赵敏, who
    // could not get a place, still needs the course.
    let eligible = api.get("/api/v1/hr/career-paths/eligible").await.json();
    assert_eq!(eligible["items"].as_array().unwrap().len(), 1);
    assert_eq!(eligible["items"][0]["name"], "王芳");
    let needs = api.get("/api/v1/hr/training/needs").await.json();
    let left: Vec<(&str, &str)> = needs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["employee"].as_str().unwrap(), n["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(left, [("EMP/000002 李强", "performance"), ("EMP/000003 赵敏", "career")]);
    // Against the plan: two of three trained, 1,800.00 of 2,000.00 spent.
    let against = api.get("/api/v1/hr/training/plan?year=2026").await.json();
    assert_eq!(
        (
            against["items"][0]["heads"].as_i64(),
            against["items"][0]["trained"].as_i64(),
            against["items"][0]["spent"].as_str(),
            against["items"][0]["left"].as_str()
        ),
        (Some(3), Some(2), Some("1800.00"), Some("200.00"))
    );
    let page = app.signed_in("admin").await.get("/hr/training").await;
    assert!(
        page.status == StatusCode::OK
            && page.body.contains("22.50")
            && page.body.contains("周老师")
            && page.body.contains("1,800.00"),
        "{}",
        page.body
    );
}

/// A browser's multipart submission of the public application form.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &str)>) -> (String, String) {
    let boundary = "----zhongshu-test-boundary";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    if let Some((file_name, content_type, content)) = file {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n{content}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn a_posting_receives_applications_the_best_scored_candidate_is_hired_and_the_funnel_counts() {
    let c = company().await;
    let (app, api) = (&c.app, &c.api);
    api.post(
        "/api/v1/hr/headcount-plan",
        &json!({"year": 2026, "rows": [{"department_id": c.sales, "position_id": c.rep, "approved": 1}]}),
    )
    .await;
    let req = api
        .post(
            "/api/v1/hr/requisitions",
            &json!({"year": 2026, "department_id": c.sales, "position_id": c.rep, "heads": 1}),
        )
        .await
        .json();
    api.post(&format!("/api/v1/hr/requisitions/{}/approve", req["id"]), &json!({})).await;
    let posting = api
        .post(
            "/api/v1/hr/postings",
            &json!({"requisition_id": req["id"], "title": "销售代表（华东）", "description": "负责华东区大客户开发。",
                "keywords": "CRM, 谈判, 英语", "min_years": 3, "education": "bachelor"}),
        )
        .await;
    assert_eq!(posting.status, StatusCode::CREATED, "{}", posting.body);
    let posting = posting.json();
    let page = posting["page"].as_str().unwrap().to_string();
    let public = app.anonymous_api();
    assert!(public.get(&page).await.body.contains("销售代表（华东）"));
    let from = |address: &str| vec![("x-forwarded-for", address.to_string())];

    // 王芳 applies from the page with a PDF; 李强 from a job board as JSON; 赵敏 with a text
    // file that names every keyword.
    let (kind, body) = multipart(
        &[
            ("name", "王芳"),
            ("mobile", "13800138001"),
            ("years", "5"),
            ("education", "bachelor"),
            ("resume", "五年销售经验，熟练使用 CRM，擅长商务谈判。"),
        ],
        Some(("wangfang.pdf", "application/pdf", "%PDF-1.4 résumé")),
    );
    let sent = public.raw_with(&page, &kind, &body, &from("203.0.113.30")).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert!(sent.body.contains("id=\"received\""), "{}", sent.body);
    let json_application = json!({"name": "李强", "mobile": "13800138002", "years": "1", "education": "college", "resume": "应届销售助理"});
    let sent = public.raw_with(&page, "application/json", &json_application.to_string(), &from("203.0.113.31")).await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    let (kind, body) = multipart(
        &[("name", "赵敏"), ("mobile", "13800138003"), ("years", "8"), ("education", "master")],
        Some(("zhaomin.txt", "text/plain", "CRM 实施、谈判、英语流利")),
    );
    assert_eq!(public.raw_with(&page, &kind, &body, &from("203.0.113.32")).await.status, StatusCode::OK);

    // Hostile or careless submissions: a file that is not what it says, a robot's honeypot,
    // and too many from one address. Nothing of them is stored.
    let (kind, body) = multipart(
        &[("name", "X"), ("mobile", "13800138009"), ("years", "2")],
        Some(("cv.pdf", "application/pdf", "MZ not a pdf")),
    );
    let refused = public.raw_with(&page, &kind, &body, &from("203.0.113.33")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("PDF、Word 或 TXT"), "{}", refused.body);
    // The applicant finds what they typed, to choose the right file and send it again.
    assert!(refused
        .body
        .contains("id=\"a-mobile\" name=\"mobile\" inputmode=\"tel\" maxlength=\"20\" required value=\"13800138009\""));
    assert!(refused.body.contains("required value=\"X\""), "the name as typed");
    // A 1.5 MB PDF is taken; a 3 MB one is refused on the form with the reason, and stores nothing.
    let big = format!("%PDF-1.4 {}", "a".repeat(1_500_000));
    let (kind, body) = multipart(
        &[("name", "钱多"), ("mobile", "13800138020"), ("years", "4"), ("resume", "CRM")],
        Some(("big.pdf", "application/pdf", &big)),
    );
    assert_eq!(public.raw_with(&page, &kind, &body, &from("203.0.113.40")).await.status, StatusCode::OK);
    let huge = format!("%PDF-1.4 {}", "a".repeat(3_000_000));
    let (kind, body) = multipart(
        &[("name", "钱少"), ("mobile", "13800138021"), ("years", "4"), ("resume", "CRM")],
        Some(("huge.pdf", "application/pdf", &huge)),
    );
    let refused = public.raw_with(&page, &kind, &body, &from("203.0.113.41")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("2 MB"), "{}", refused.body);
    let robot =
        json!({"name": "Bot", "mobile": "13800138010", "years": "1", "resume": "x", "website": "http://spam.example"});
    assert_eq!(
        public.raw_with(&page, "application/json", &robot.to_string(), &from("203.0.113.34")).await.status,
        StatusCode::ACCEPTED
    );
    let mut last = StatusCode::OK;
    for i in 0..6 {
        let bad = json!({"name": "刷单", "mobile": "1380013", "years": format!("{i}"), "resume": "x"});
        last = public.raw_with(&page, "application/json", &bad.to_string(), &from("203.0.113.35")).await.status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.count("hr_applications").await, 4);
    assert_eq!(public.get("/public/hr/jobs/not-a-token").await.status, StatusCode::NOT_FOUND);
    assert_eq!(public.get("/api/v1/hr/candidates").await.status, StatusCode::UNAUTHORIZED);

    // 王芳 applies again: the same person, one party, flagged as a repeat.
    let again = json!({"name": "王芳", "mobile": "+86 138-0013-8001", "years": "5", "education": "bachelor", "resume": "补充：英语六级"});
    public.raw_with(&page, "application/json", &again.to_string(), &from("203.0.113.36")).await;
    assert_eq!(app.count("parties p JOIN party_roles r ON r.party_id = p.id AND r.role = 'candidate'").await, 4);

    // The ranking, each score explained: 赵敏 100, 王芳 83 (two keywords of three), 李强 8.
    let candidates = api.get(&format!("/api/v1/hr/candidates?posting={}", posting["id"])).await.json();
    let ranked: Vec<(&str, i64)> = candidates["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["score"].as_i64().unwrap()))
        .collect();
    assert_eq!(ranked, [("赵敏", 100), ("王芳", 83), ("王芳", 66), ("钱多", 41), ("李强", 8)], "{candidates}");
    let best = &candidates["items"][0];
    assert!(best["explanation"][0].as_str().unwrap().contains("found CRM, 谈判, 英语"), "{best}");
    assert!(candidates["items"][2]["repeat_of"].is_i64(), "the second application of 王芳 points at the first");

    // Screened, interviewed (scorecard), offered and hired: the candidate becomes an employee.
    let id = best["id"].as_i64().unwrap();
    let step = |stage: &'static str| {
        let path = format!("/api/v1/hr/applications/{id}/stage");
        async move { api.post(&path, &json!({"stage": stage})).await }
    };
    assert_eq!(step("interview").await.status, StatusCode::UNPROCESSABLE_ENTITY, "screening comes first");
    step("screened").await;
    step("interview").await;
    let scored = api
        .post(
            &format!("/api/v1/hr/applications/{id}/interviews"),
            &json!({"kind": "interview", "interviewer": "赵经理", "score": 5, "notes": "沟通出色"}),
        )
        .await;
    assert_eq!(scored.json()["interviews"][0]["score"], 5, "{}", scored.body);
    assert_eq!(step("offered").await.status, StatusCode::UNPROCESSABLE_ENTITY, "an offer is made with its terms");
    // The offer: 15,000.00 a month from 1 April, open-ended, to be answered by 20 March; an
    // answer date after the start is refused next to its field.
    let offer = |expires: &str| {
        json!({"base_salary": "15000", "start_date": "2026-04-01", "expires_on": expires, "contract_kind": "open",
            "notes": "试用期三个月"})
    };
    let late = api.post(&format!("/api/v1/hr/applications/{id}/offer"), &offer("2026-04-02")).await;
    assert_eq!(late.json()["errors"][0]["field"], "expires_on", "{}", late.body);
    let made = api.post(&format!("/api/v1/hr/applications/{id}/offer"), &offer("2026-03-20")).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!((made.json()["status"].as_str(), made.json()["base_salary"].as_str()), (Some("open"), Some("15000.00")));
    let hire = |body: Value| {
        let path = format!("/api/v1/hr/applications/{id}/hire");
        async move { api.post(&path, &body).await }
    };
    let early = hire(json!({"id_number": "11010519491231002X"})).await;
    assert_eq!(
        early.json()["errors"][0]["code"],
        "error.hr.offer_not_accepted",
        "not before the answer: {}",
        early.body
    );
    let letter = app.signed_in("admin").await.get(&format!("/hr/applications/{id}/offer")).await;
    assert!(
        letter.body.contains("录用通知书") && letter.body.contains("15,000.00") && letter.body.contains("试用期三个月")
    );
    // 王芳, second best, is offered the same and declines: her application ends at the offer.
    let second = candidates["items"][1]["id"].as_i64().unwrap();
    for stage in ["screened", "interview"] {
        api.post(&format!("/api/v1/hr/applications/{second}/stage"), &json!({"stage": stage})).await;
    }
    // An offer typed on the page with the salary in words: refused beside her, and what was
    // typed is still in the offer form (not in her interview form's notes).
    let browser = app.signed_in("admin").await;
    let (second_id, posting_id) = (second.to_string(), posting["id"].to_string());
    let refused = browser
        .post_form(
            &format!("/hr/recruiting/{posting_id}"),
            "/hr/recruiting",
            &[
                ("action", "offer"),
                ("application_id", &second_id),
                ("posting_id", &posting_id),
                ("base_salary", "一万五"),
                ("start_date", "2026-04-01"),
                ("notes", "试用期三个月"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let card = refused.body.split(&format!("id=\"candidate-{second}\"")).nth(1).expect("her card");
    let card = &card[..card.find("</section>").expect("card end")];
    assert!(card.contains("role=\"alert\""), "{card}");
    assert!(card.contains("value=\"一万五\"") && card.contains("value=\"2026-04-01\""), "{card}");
    assert_eq!(card.matches("value=\"试用期三个月\"").count(), 1, "the offer's notes only: {card}");
    api.post(&format!("/api/v1/hr/applications/{second}/offer"), &offer("2026-03-20")).await;
    let declined = api.post(&format!("/api/v1/hr/applications/{second}/offer/decline"), &json!({})).await;
    assert_eq!(declined.json()["status"], "declined", "{}", declined.body);
    let after = api.get(&format!("/api/v1/hr/candidates?posting={}", best["posting_id"])).await.json();
    let her = after["items"].as_array().unwrap().iter().find(|c| c["id"] == second).unwrap().clone();
    assert_eq!((her["stage"].as_str(), her["rejected_at_stage"].as_str()), (Some("rejected"), Some("offered")));
    let accepted = api.post(&format!("/api/v1/hr/applications/{id}/offer/accept"), &json!({})).await;
    assert_eq!(accepted.json()["status"], "accepted", "{}", accepted.body);
    // Hired on the offer's terms: from 1 April at 15,000.00.
    let hired = hire(json!({"id_number": "11010519491231002X"})).await;
    assert_eq!(hired.status, StatusCode::CREATED, "{}", hired.body);
    let employee = api.get(&format!("/api/v1/hr/employees/{}", hired.json()["employee_id"])).await.json();
    assert_eq!(
        (employee["name"].as_str(), employee["department"].as_str(), employee["position"].as_str()),
        (Some("赵敏"), Some("销售部"), Some("销售专员"))
    );
    assert_eq!(app.count("party_roles WHERE role = 'employee'").await, 1);
    assert_eq!(api.get("/api/v1/hr/requisitions").await.json()["items"][0]["status"], "filled");

    // The funnel: 5 applied, 2 screened, interviewed and offered (one declined), 1 hired; the
    // posting closed.
    let postings = api.get("/api/v1/hr/postings").await.json();
    assert_eq!(postings["items"][0]["funnel"], json!([5, 2, 2, 2, 1]), "{postings}");
    assert_eq!(postings["items"][0]["status"], "closed");
    assert_eq!(public.get(&page).await.status, StatusCode::NOT_FOUND, "a closed posting takes no more applications");
    let list = browser.get("/hr/recruiting").await;
    assert!(list.status == StatusCode::OK && list.body.contains("JOB/2026/001"), "{}", list.body);
    let detail = browser.get(&format!("/hr/recruiting/{}", posting["id"])).await;
    assert!(detail.status == StatusCode::OK && detail.body.contains("found CRM"), "{}", detail.body);
    let file = browser.get(&format!("/hr/applications/{}/resume", candidates["items"][1]["id"])).await;
    assert!(file.body.starts_with("%PDF"), "{}", file.body);
}

#[tokio::test]
async fn the_clock_and_approved_unpaid_leave_flow_into_the_months_pay() {
    let c = company().await;
    let (app, api) = (&c.app, &c.api);
    let zhang = api
        .post("/api/v1/hr/employees", &hire_body(&c, "张伟", "11010519491231002X", "2025-06-02", "20000", json!({})))
        .await;
    let zhang = zhang.json()["id"].as_i64().unwrap();
    let li = api
        .post("/api/v1/hr/employees", &hire_body(&c, "李娜", "440524188001010014", "2025-06-02", "11000", json!({})))
        .await;
    let li = li.json()["id"].as_i64().unwrap();
    let shift = api
        .post("/api/v1/hr/shifts", &json!({"code": "DAY", "name": "白班", "starts": "09:00", "ends": "18:00"}))
        .await;
    let shift = shift.json()["id"].as_i64().unwrap();
    let rostered = api
        .post("/api/v1/hr/roster", &json!({"employee_id": zhang, "shift_id": shift, "first_day": "2026-03-01", "last_day": "2026-03-31", "weekdays_only": true}))
        .await;
    assert_eq!(rostered.json()["days"], 22, "{}", rostered.body);

    // The time clock's file: a bad line refuses the whole file, naming it.
    let bad = api.post("/api/v1/hr/clock-records/import", &json!({"csv": "工号,日期,上班,下班\nEMP/000001,2026-03-16,09:00,20:30\nEMP/000001,2026-03-17,9点,19:00\n"})).await;
    assert_eq!(bad.json()["errors"][0]["field"], "lines[3].in", "{}", bad.body);
    assert_eq!(app.count("hr_clock").await, 0);
    let good = api.post("/api/v1/hr/clock-records/import", &json!({"csv": "工号,日期,上班,下班\nEMP/000001,2026-03-16,09:00,20:30\nEMP/000001,2026-03-17,09:00,19:00\n"})).await;
    assert_eq!(good.json()["imported"], 2, "{}", good.body);
    // He forgot his card on Wednesday: HR enters the day by hand, with the reason, which the
    // audit trail keeps; without a reason, or for a day still to come, it is refused.
    let by_hand = |day: &str, reason: &str| json!({"employee_id": zhang, "day": day, "clock_in": "09:00", "clock_out": "18:00", "reason": reason});
    let unexplained = api.post("/api/v1/hr/clock-records", &by_hand("2026-03-13", " ")).await;
    assert_eq!(unexplained.json()["errors"][0]["field"], "reason", "{}", unexplained.body);
    let ahead = api.post("/api/v1/hr/clock-records", &by_hand("2026-03-20", "忘记打卡")).await;
    assert_eq!(ahead.json()["errors"][0]["code"], "error.hr.clock_future", "{}", ahead.body);
    let entered = api.post("/api/v1/hr/clock-records", &by_hand("2026-03-13", "忘记打卡")).await;
    assert_eq!(entered.status, StatusCode::CREATED, "{}", entered.body);
    assert_eq!(app.count("hr_clock WHERE source = 'manual' AND minutes = 540").await, 1);
    assert_eq!(app.count("audit_log WHERE resource = 'hr.clock' AND action = 'update'").await, 1);

    // 李娜 takes two days of unpaid personal leave (Thursday and Friday); six days of annual
    // leave are beyond her five.
    let leave = api
        .post("/api/v1/hr/leave-requests", &json!({"employee_id": li, "leave_type": "personal", "first_day": "2026-03-19", "last_day": "2026-03-22", "reason": "家事"}))
        .await;
    assert_eq!(leave.status, StatusCode::CREATED, "{}", leave.body);
    let too_much = api
        .post(
            "/api/v1/hr/leave-requests",
            &json!({"employee_id": li, "leave_type": "annual", "first_day": "2026-04-06", "last_day": "2026-04-13"}),
        )
        .await;
    assert_eq!(too_much.json()["errors"][0]["code"], "error.hr.leave_balance", "{}", too_much.body);
    let twice = api
        .post(
            "/api/v1/hr/leave-requests",
            &json!({"employee_id": li, "leave_type": "personal", "first_day": "2026-03-20", "last_day": "2026-03-20"}),
        )
        .await;
    assert_eq!(twice.json()["errors"][0]["code"], "error.hr.leave_overlap", "the same day is not asked for twice");
    let missed =
        api.post("/api/v1/hr/clock-records/import", &json!({"csv": "EMP/000002,2026-03-18,08:00,08:00"})).await;
    assert_eq!(missed.json()["errors"][0]["code"], "error.hr.clock_span", "a missed punch is not a 24-hour day");
    assert_eq!(
        api.post(&format!("/api/v1/hr/leave-requests/{}/approve", leave.json()["id"]), &json!({})).await.status,
        StatusCode::OK
    );
    assert_eq!(
        api.post(&format!("/api/v1/hr/leave-requests/{}/reject", leave.json()["id"]), &json!({})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a decided request is not decided again"
    );
    // Why 李娜 is away is for HR (and her and her manager) to read, not every manager.
    let reason_seen_by = |login: &'static str| async move {
        let list = app.api(login).await.get("/api/v1/hr/leave-requests").await.json();
        list["items"].as_array().unwrap().iter().find(|l| l["employee_id"] == li).unwrap()["reason"].clone()
    };
    app.user("zhao.min", &["line_manager"], "", "sales").await;
    assert_eq!(reason_seen_by("admin").await, "家事");
    assert_eq!(reason_seen_by("zhao.min").await, "");
    // Leave over the new year is two requests, one per year's balance.
    let across = api
        .post(
            "/api/v1/hr/leave-requests",
            &json!({"employee_id": li, "leave_type": "annual", "first_day": "2026-12-30", "last_day": "2027-01-04"}),
        )
        .await;
    assert_eq!(across.json()["errors"][0]["code"], "error.hr.leave_across_year", "{}", across.body);
    // HR does not approve their own leave.
    let hr_user = app.user("liu.yang", &["hr_manager"], "", "hr").await;
    let own = api
        .post(
            "/api/v1/hr/employees",
            &hire_body(&c, "刘洋", "11010519491231002X", "2025-06-02", "15000", json!({"user_id": hr_user})),
        )
        .await;
    let hr = app.api("liu.yang").await;
    let own_leave = hr
        .post("/api/v1/hr/leave-requests", &json!({"employee_id": own.json()["id"], "leave_type": "annual", "first_day": "2026-03-23", "last_day": "2026-03-23"}))
        .await;
    assert_eq!(own_leave.status, StatusCode::CREATED, "{}", own_leave.body);
    let approve_own =
        hr.post(&format!("/api/v1/hr/leave-requests/{}/approve", own_leave.json()["id"]), &json!({})).await;
    assert_eq!(approve_own.status, StatusCode::FORBIDDEN);
    let balances = api.get("/api/v1/hr/leave-balances?year=2026").await.json();
    assert!(balances["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["employee"] == "EMP/000002 李娜" && b["leave_type"] == "annual" && b["left"] == 5));

    // March: his 3.5 hours beyond the shift are paid as overtime (603.45); she is paid 20 of
    // 22 days (10,000.00).
    let run = api.post("/api/v1/hr/payroll-runs", &json!({"period": "2026-03"})).await.json();
    let slips = api.get(&format!("/api/v1/hr/payslips?run={}", run["id"])).await.json();
    let slip_lines = |name: &str| format!("/api/v1/hr/payslips/{}", slip_of(&slips, name)["id"]);
    let amount = |slip: &Value, code: &str| {
        slip["lines"].as_array().unwrap().iter().find(|l| l["code"] == code).unwrap()["amount"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let zhang_slip = api.get(&slip_lines("张伟")).await.json();
    assert_eq!(amount(&zhang_slip, "overtime"), "603.45", "{zhang_slip}");
    let li_slip = api.get(&slip_lines("李娜")).await.json();
    assert_eq!(amount(&li_slip, "base_pay"), "10000.00", "{li_slip}");
    let page = app.signed_in("admin").await.get("/hr/attendance").await;
    assert!(page.status == StatusCode::OK && page.body.contains("白班") && page.body.contains("家事"), "{}", page.body);
}

/// The scenario in one story: plan, forecast, requisition, posting, applications, the
/// best candidate hired, onboarding and a course completed, a quarterly review, and the next
/// payroll paid and posted with the voucher tying out.
#[tokio::test]
async fn from_a_planned_hire_to_the_first_payslip_in_one_story() {
    let c = company().await;
    let (app, api) = (&c.app, &c.api);
    // The forecast: 4,000,000 of new revenue at one representative per 2,000,000 → 2 heads.
    let forecast = api
        .post("/api/v1/hr/forecasts", &json!({"year": 2026, "lines": [{"department_id": c.sales, "position_id": c.rep, "driver": "新增收入", "value": "4000000", "per_head": "2000000"}]}))
        .await
        .json();
    assert_eq!((forecast["lines"][0]["needed"].as_i64(), forecast["lines"][0]["hires"].as_i64()), (Some(2), Some(2)));
    api.post(&format!("/api/v1/hr/forecasts/{}/apply", forecast["id"]), &json!({})).await;
    let req = api
        .post(
            "/api/v1/hr/requisitions",
            &json!({"year": 2026, "department_id": c.sales, "position_id": c.rep, "heads": 2}),
        )
        .await
        .json();
    assert_eq!(req["beyond_plan"], false, "the plan agrees with the forecast");
    api.post(&format!("/api/v1/hr/requisitions/{}/approve", req["id"]), &json!({})).await;
    let posting = api
        .post("/api/v1/hr/postings", &json!({"requisition_id": req["id"], "title": "销售代表", "description": "华东大客户", "keywords": "CRM, 谈判", "min_years": 2, "education": "bachelor"}))
        .await
        .json();
    let page = posting["page"].as_str().unwrap().to_string();
    for (i, (name, mobile, years, resume)) in
        [("张伟", "13800138011", "6", "CRM 与谈判专家"), ("周杰", "13800138012", "1", "实习生")].iter().enumerate()
    {
        let body = json!({"name": name, "mobile": mobile, "years": years, "education": "bachelor", "resume": resume});
        let sent = app
            .anonymous_api()
            .raw_with(&page, "application/json", &body.to_string(), &[("x-forwarded-for", format!("198.51.100.{i}"))])
            .await;
        assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    }
    let candidates = api.get(&format!("/api/v1/hr/candidates?posting={}", posting["id"])).await.json();
    let best = &candidates["items"][0];
    assert_eq!((best["name"].as_str(), best["score"].as_i64()), (Some("张伟"), Some(100)), "{candidates}");
    let application = best["id"].as_i64().unwrap();
    for stage in ["screened", "interview"] {
        api.post(&format!("/api/v1/hr/applications/{application}/stage"), &json!({"stage": stage})).await;
    }
    api.post(
        &format!("/api/v1/hr/applications/{application}/interviews"),
        &json!({"kind": "interview", "interviewer": "赵经理", "score": 5}),
    )
    .await;
    let offered = api
        .post(
            &format!("/api/v1/hr/applications/{application}/offer"),
            &json!({"base_salary": "20000", "target_bonus": "6000", "start_date": "2026-03-16", "expires_on": "2026-03-15", "contract_kind": "open"}),
        )
        .await;
    assert_eq!(offered.status, StatusCode::CREATED, "{}", offered.body);
    api.post(&format!("/api/v1/hr/applications/{application}/offer/accept"), &json!({})).await;
    let hired = api
        .post(
            &format!("/api/v1/hr/applications/{application}/hire"),
            &json!({"hire_date": "2026-03-02", "base_salary": "20000", "contract_kind": "open", "id_number": "11010519491231002X",
                "additional_deductions": "2000", "target_bonus": "6000", "bank_name": "招商银行", "bank_account": "6225881234567890"}),
        )
        .await;
    assert_eq!(hired.status, StatusCode::CREATED, "{}", hired.body);
    let employee = hired.json()["employee_id"].as_i64().unwrap();

    // Onboarding and the sales course.
    for item in ["contract_signed", "medical_check", "accounts_opened", "orientation"] {
        api.post(&format!("/api/v1/hr/employees/{employee}/onboarding"), &json!({"item": item})).await;
    }
    let course =
        api.post("/api/v1/hr/courses", &json!({"code": "SAL-101", "title": "顾问式销售", "hours": 8})).await.json()
            ["id"]
            .as_i64()
            .unwrap();
    let session = api
        .post(&format!("/api/v1/hr/courses/{course}/sessions"), &json!({"starts_on": "2026-03-10", "capacity": 10}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    api.post(&format!("/api/v1/hr/sessions/{session}/enrolments"), &json!({"employee_ids": [employee]})).await;
    api.post(
        &format!("/api/v1/hr/sessions/{session}/evaluations"),
        &json!({"employee_id": employee, "attended": true, "reaction": 5, "pre_score": 60, "post_score": 90}),
    )
    .await;
    let record = api.get(&format!("/api/v1/hr/employees/{employee}")).await.json();
    assert!(record["onboarding"].as_array().unwrap().iter().all(|o| o["done_at"].is_string()), "{record}");
    assert_eq!(app.count("hr_enrolments WHERE completed_at IS NOT NULL").await, 1);

    // The first quarter's review: an A.
    let review = api
        .post("/api/v1/hr/reviews", &json!({"employee_id": employee, "cycle": "quarterly", "period": "2026-Q1", "goals": [{"title": "回款", "weight": 100}]}))
        .await
        .json();
    api.post(&format!("/api/v1/hr/reviews/{}/scores", review["id"]), &json!({"by": "manager", "scores": [95]})).await;
    let rated = api.post(&format!("/api/v1/hr/reviews/{}/finalise", review["id"]), &json!({})).await.json();
    assert_eq!(rated["rating"], "A");

    // The next payroll: 20,000 salary + 9,000 bonus (150 % of 6,000); 3,500 contributions;
    // taxable 29,000 − 5,000 − 3,500 − 2,000 = 18,500 at 3 % = 555.00; net 24,945.00.
    let run = api.post("/api/v1/hr/payroll-runs", &json!({"period": "2026-03"})).await.json();
    let slip = &api.get(&format!("/api/v1/hr/payslips?run={}", run["id"])).await.json()["items"][0];
    assert_eq!(
        (slip["gross"].as_str(), slip["housing_employee"].as_str(), slip["iit"].as_str(), slip["net"].as_str()),
        (Some("29000.00"), Some("1400.00"), Some("555.00"), Some("24945.00")),
        "{slip}"
    );
    let posted = api.post(&format!("/api/v1/hr/payroll-runs/{}/post", run["id"]), &json!({})).await.json();
    let lines = voucher(app, posted["entry_number"].as_str().unwrap()).await;
    let fen = |s: &str| -> i64 { s.replace('.', "").parse().unwrap() };
    let (debits, credits): (i64, i64) = lines.iter().fold((0, 0), |(d, c), (_, dr, cr)| (d + fen(dr), c + fen(cr)));
    assert_eq!(debits, credits, "the voucher balances: {lines:?}");
    // Selling expenses carry the wages and the employer's 6,752.00 of contributions.
    assert_eq!(lines[0], ("6601".to_string(), "35752.00".to_string(), "0.00".to_string()));
    assert!(lines.contains(&("222103".to_string(), "0.00".to_string(), "555.00".to_string())));
    let trial = api.get("/api/v1/finance/reports/trial-balance?from=2026-03&to=2026-03").await.json();
    let payable = trial["items"].as_array().unwrap().iter().find(|a| a["code"] == "2211").cloned().unwrap_or_default();
    // 2211 owes the net pay (24,945.00) and the employer's contributions (6,752.00) until the
    // bank file is paid and the contributions remitted; the withholdings moved to 2241/222103.
    assert_eq!(
        (payable["credit"].as_str(), payable["debit"].as_str(), payable["closing"].as_str()),
        (Some("35752.00"), Some("4055.00"), Some("-31697.00")),
        "{payable}"
    );
}

#[tokio::test]
async fn hr_keeps_a_citys_insurance_rule_and_a_salary_structure_on_the_settings_page() {
    let c = company().await;
    let (app, api) = (&c.app, &c.api);
    // 王磊 works in Beijing: there is no rule for Beijing yet, so March's payroll stops on him.
    let wang = api
        .post(
            "/api/v1/hr/employees",
            &hire_body(&c, "王磊", "11010519491231002X", "2025-06-02", "20000", json!({"city": "北京"})),
        )
        .await;
    assert_eq!(wang.status, StatusCode::CREATED, "{}", wang.body);
    let stopped = api.post("/api/v1/hr/payroll-runs", &json!({"period": "2026-03"})).await;
    assert_eq!(stopped.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", stopped.body);
    assert!(stopped.body.contains("北京"), "{}", stopped.body);

    // HR types Beijing's rule on the page; a housing fund of 15 % is beyond the law's 12 %,
    // and the page says so next to the field.
    let browser = app.signed_in("admin").await;
    let settings = browser.get("/hr/payroll/settings").await;
    assert!(settings.body.contains("base * days_worked / work_days"), "the standard structure is shown");
    let rule = |housing: &'static str| {
        vec![
            ("action", "city_rule"),
            ("year", "2026"),
            ("city", "北京"),
            ("floor", "7162.00"),
            ("cap", "35811.00"),
            ("pension_employee", "8"),
            ("medical_employee", "2"),
            ("unemployment_employee", "0.5"),
            ("housing_fund", housing),
            ("pension_employer", "16"),
            ("medical_employer", "9.8"),
            ("unemployment_employer", "0.5"),
            ("injury_employer", "0.4"),
        ]
    };
    let refused = browser.post_form("/hr/payroll/settings", "/hr/payroll/settings", &rule("15")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("5.00–12.00 %"), "{}", refused.body);
    assert_eq!(app.count("hr_city_rules WHERE city = '北京'").await, 0);
    let saved = browser.post_form("/hr/payroll/settings", "/hr/payroll/settings", &rule("12")).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let rules = api.get("/api/v1/hr/city-rules?year=2026").await.json();
    let beijing = rules["items"].as_array().unwrap().iter().find(|r| r["city"] == "北京").unwrap().clone();
    assert_eq!(
        (beijing["housing_fund_bp"].as_i64(), beijing["medical_employer_bp"].as_i64(), beijing["sample"].as_bool()),
        (Some(1200), Some(980), Some(false))
    );
    // Now he is paid: 8 % pension and 12 % housing fund of his 20,000.00.
    let run = api.post("/api/v1/hr/payroll-runs", &json!({"period": "2026-03"})).await;
    assert_eq!(run.status, StatusCode::CREATED, "{}", run.body);
    let slips = api.get(&format!("/api/v1/hr/payslips?run={}", run.json()["id"])).await.json();
    let slip = slip_of(&slips, "王磊");
    assert_eq!(
        (slip["pension_employee"].as_str(), slip["housing_employee"].as_str()),
        (Some("1600.00"), Some("2400.00"))
    );

    // A structure for sales staff with a commission: a formula naming an unknown figure is
    // refused at its row; corrected, the structure is kept with its rows in order.
    let structure = |formula: &'static str| {
        vec![
            ("action", "structure"),
            ("year", "2026"),
            ("code", "SALES"),
            ("name", "销售人员工资结构"),
            ("components[0].code", "base_pay"),
            ("components[0].name", "基本工资"),
            ("components[0].kind", "earning"),
            ("components[0].formula", "base * days_worked / work_days"),
            ("components[1].code", "commission"),
            ("components[1].name", "销售提成"),
            ("components[1].kind", "earning"),
            ("components[1].formula", formula),
        ]
    };
    let bad = browser.post_form("/hr/payroll/settings", "/hr/payroll/settings", &structure("revenue * 0.02")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("revenue"), "{}", bad.body);
    let good =
        browser.post_form("/hr/payroll/settings", "/hr/payroll/settings", &structure("sales_amount * 0.02")).await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.body);
    let structures = api.get("/api/v1/hr/structures").await.json();
    let sales = structures["items"].as_array().unwrap().iter().find(|s| s["code"] == "SALES").unwrap().clone();
    assert_eq!(sales["components"][1]["formula"], "sales_amount * 0.02");
    // The commission goes up to 3 %: edited on the page (the code stays), audited.
    let id = sales["id"].as_i64().unwrap();
    let edit = browser.get(&format!("/hr/payroll/settings?structure={id}")).await;
    assert!(edit.body.contains("value=\"sales_amount * 0.02\""), "the form shows the rows");
    let mut raised: Vec<(&str, &str)> = structure("sales_amount * 0.03");
    let id_text = id.to_string();
    raised.push(("structure_id", id_text.as_str()));
    let saved = browser.post_form("/hr/payroll/settings", "/hr/payroll/settings", &raised).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let structures = api.get("/api/v1/hr/structures").await.json();
    let sales = structures["items"].as_array().unwrap().iter().find(|s| s["code"] == "SALES").unwrap().clone();
    assert_eq!(sales["components"][1]["formula"], "sales_amount * 0.03");
    assert_eq!(app.count("audit_log WHERE resource = 'hr.structure' AND action = 'update'").await, 1);
    let renamed = api
        .call(
            axum::http::Method::PUT,
            &format!("/api/v1/hr/structures/{id}"),
            Some(&json!({"code": "SALES2", "name": "x", "components": [{"code": "base_pay", "name": "基本工资", "kind": "earning", "formula": "base"}]})),
        )
        .await;
    assert_eq!(renamed.json()["errors"][0]["code"], "error.hr.structure_code_fixed", "{}", renamed.body);

    // Only payroll may change the rules.
    app.user("zhao.min", &["line_manager"], "", "sales").await;
    let manager = app.api("zhao.min").await;
    let denied = manager
        .post(
            "/api/v1/hr/city-rules",
            &json!({"city": "广州", "year": 2026, "floor": "5000.00", "cap": "30000.00",
            "pension_employee": "8", "medical_employee": "2", "unemployment_employee": "0.2", "pension_employer": "14",
            "medical_employer": "6.5", "unemployment_employer": "0.8", "injury_employer": "0.2", "housing_fund": "5"}),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_leave_of_absence_and_the_return_are_paid_by_their_dates_within_the_month() {
    let c = company().await;
    let api = &c.api;
    let (li, zhang) = two_sales_reps(&c).await;
    let change = |id: i64, kind: &str, date: &str, version: i64| {
        let body = json!({"kind": kind, "effective_date": date, "version": version, "reason": "家中有事"});
        async move { api.post(&format!("/api/v1/hr/employees/{id}/changes"), &body).await }
    };
    // 李娜's leave of absence starts on Monday 16 March and she is back on Monday 13 April;
    // 张伟 has been away since February.
    assert_eq!(change(li, "leave", "2026-03-16", 1).await.status, StatusCode::OK);
    assert_eq!(change(zhang, "leave", "2026-02-02", 1).await.status, StatusCode::OK);
    let slip = |run: Value, name: &'static str| async move {
        let slips = api.get(&format!("/api/v1/hr/payslips?run={}", run["id"])).await.json();
        let line = slips["items"].as_array().unwrap().iter().find(|s| s["name"] == name).map(|s| s["id"].clone());
        match line {
            Some(id) => Some(api.get(&format!("/api/v1/hr/payslips/{id}")).await.json()),
            None => None,
        }
    };
    let base_pay = |slip: &Value| {
        slip["lines"].as_array().unwrap().iter().find(|l| l["code"] == "base_pay").unwrap()["amount"].clone()
    };
    // March: she worked 10 of its 22 working days, 11,000.00 × 10 / 22; he is not paid.
    let march = api.post("/api/v1/hr/payroll-runs", &json!({"period": "2026-03"})).await;
    assert_eq!(march.status, StatusCode::CREATED, "{}", march.body);
    let march = march.json();
    assert_eq!(base_pay(&slip(march.clone(), "李娜").await.expect("her March")), "5000.00");
    assert!(slip(march.clone(), "张伟").await.is_none(), "away the whole month, no payslip");
    let posted = api.post(&format!("/api/v1/hr/payroll-runs/{}/post", march["id"]), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    // April: back on the 13th, she is paid its last 14 of 22 working days.
    assert_eq!(change(li, "return", "2026-04-13", 2).await.status, StatusCode::OK);
    let april = api.post("/api/v1/hr/payroll-runs", &json!({"period": "2026-04"})).await.json();
    assert_eq!(base_pay(&slip(april, "李娜").await.expect("her April")), "7000.00");
}

#[tokio::test]
async fn a_raise_dated_inside_the_month_pays_each_day_at_its_salary() {
    let c = company().await;
    let api = &c.api;
    let (li, zhang) = two_sales_reps(&c).await;
    let promote = |id: i64, date: &str| {
        let body = json!({"kind": "promotion", "effective_date": date, "position_id": c.lead, "base_salary": "13200", "version": 1});
        async move { api.post(&format!("/api/v1/hr/employees/{id}/changes"), &body).await }
    };
    // 李娜 is promoted at 13,200.00 from Monday 16 March: 10 of March's 22 working days at
    // 11,000.00 and 12 at 13,200.00, 5,000.00 + 7,200.00. 张伟's raise is dated 1 April, so
    // March pays him his old salary.
    assert_eq!(promote(li, "2026-03-16").await.status, StatusCode::OK);
    assert_eq!(promote(zhang, "2026-04-01").await.status, StatusCode::OK);
    let run = api.post("/api/v1/hr/payroll-runs", &json!({"period": "2026-03"})).await;
    assert_eq!(run.status, StatusCode::CREATED, "{}", run.body);
    let slips = api.get(&format!("/api/v1/hr/payslips?run={}", run.json()["id"])).await.json();
    let base_pay = |name: &'static str| {
        let path = format!("/api/v1/hr/payslips/{}", slip_of(&slips, name)["id"]);
        async move {
            let slip = api.get(&path).await.json();
            slip["lines"].as_array().unwrap().iter().find(|l| l["code"] == "base_pay").unwrap()["amount"].clone()
        }
    };
    assert_eq!(base_pay("李娜").await, "12200.00");
    assert_eq!(base_pay("张伟").await, "11000.00");
}
