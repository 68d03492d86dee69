//! Whole-system checks: the architecture invariants of ARCHITECTURE.md, the module list,
//! translations, the OpenAPI document, demo data, and backup → restore.

use sqlx::Row;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Normal (not dev) dependencies on workspace crates, per crate, read from the manifests.
fn workspace_dependencies() -> BTreeMap<String, Vec<String>> {
    let crates_dir = workspace().join("crates");
    let names: Vec<String> = std::fs::read_dir(&crates_dir)
        .expect("crates/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut graph = BTreeMap::new();
    for name in &names {
        let manifest = std::fs::read_to_string(crates_dir.join(name).join("Cargo.toml")).expect("manifest");
        let mut in_dependencies = false;
        let mut deps = Vec::new();
        for line in manifest.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_dependencies = line == "[dependencies]";
                continue;
            }
            if !in_dependencies || line.is_empty() || line.starts_with('#') {
                continue;
            }
            let dep = line.split(['.', ' ', '=']).next().unwrap_or_default().to_string();
            if names.contains(&dep) {
                deps.push(dep);
            }
        }
        graph.insert(name.clone(), deps);
    }
    graph
}

/// The layers of DESIGN.md §2, lowest first; a crate may depend only on lower layers.
const LAYERS: &[&[&str]] = &[
    &["kernel"],
    &["db"],
    &["web"],
    &["party", "catalog"],
    &["finance"],
    &["stock"],
    &["purchase", "sales"],
    &["crm", "mfg", "assets"],
    &["hr"],
    &["hospital"],
    &["server"],
    &["testkit"],
];

fn layer_of(name: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&name))
}

#[test]
fn every_crate_depends_only_on_lower_layers() {
    let graph = workspace_dependencies();
    assert!(graph.len() >= 6, "found crates: {:?}", graph.keys());
    for (name, deps) in &graph {
        let layer = layer_of(name)
            .unwrap_or_else(|| panic!("crate {name} has no layer; add it to ARCHITECTURE.md and to LAYERS"));
        for dep in deps {
            let dep_layer = layer_of(dep).unwrap_or(usize::MAX);
            assert!(
                dep_layer < layer,
                "{name} must not depend on {dep}: a lower module never names a higher one (ARCHITECTURE.md)"
            );
        }
    }
    assert!(graph["kernel"].is_empty(), "kernel depends on no workspace crate");
    assert_eq!(graph["db"], vec!["kernel"], "db depends only on kernel");
}

#[test]
fn domain_code_imports_neither_the_web_framework_nor_the_database() {
    let crates_dir = workspace().join("crates");
    for entry in std::fs::read_dir(&crates_dir).expect("crates/").filter_map(|e| e.ok()) {
        let src = entry.path().join("src");
        let mut files = Vec::new();
        for candidate in [src.join("domain.rs"), src.join("domain")] {
            if candidate.is_file() {
                files.push(candidate);
            } else if candidate.is_dir() {
                files.extend(std::fs::read_dir(&candidate).expect("domain/").filter_map(|e| e.ok()).map(|e| e.path()));
            }
        }
        if entry.file_name() == "kernel" {
            files.extend(std::fs::read_dir(&src).expect("kernel/src").filter_map(|e| e.ok()).map(|e| e.path()));
        }
        for file in files {
            let text = std::fs::read_to_string(&file).expect("source");
            for forbidden in ["axum", "sqlx", "askama"] {
                assert!(
                    !text.contains(&format!("{forbidden}::")) && !text.contains(&format!("use {forbidden}")),
                    "{} uses {forbidden}",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn architecture_md_names_every_crate_and_its_invariants() {
    let text = std::fs::read_to_string(workspace().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    for name in workspace_dependencies().keys() {
        assert!(text.contains(&format!("crates/{name}/")), "ARCHITECTURE.md's code map lacks crates/{name}/");
        assert!(workspace().join("crates").join(name).join("README.md").exists(), "crates/{name}/README.md is missing");
    }
    assert!(text.contains("## Architecture invariants"));
}

#[test]
fn the_readme_opens_with_the_two_commands() {
    let text = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let first_commands: Vec<&str> = text.lines().filter(|l| l.starts_with("cargo ")).take(2).collect();
    assert_eq!(first_commands, vec!["cargo run --release -- serve --demo", "cargo test --workspace"]);
    let ci = std::fs::read_to_string(workspace().join(".ci/run")).expect(".ci/run");
    assert!(
        ci.contains("cargo test --workspace") && ci.contains("ZHONGSHU_TEST_PG_URL"),
        ".ci/run runs the README's test command on both databases"
    );
}

#[test]
fn every_permission_and_menu_entry_has_both_translations() {
    let modules = server::modules();
    let tables: Vec<_> = modules.iter().map(|m| m.messages).collect();
    let messages = web::i18n::Messages::new(&tables);
    for module in &modules {
        for permission in module.permissions {
            assert!(kernel::Permission::parse(permission).is_ok(), "{permission} is module.resource.action");
            assert!(messages.contains(&format!("perm.{permission}")), "perm.{permission} has no message");
        }
        for item in &module.menu {
            assert!(messages.contains(item.label_key), "{} has no message", item.label_key);
            // An entry without a permission is for every signed-in user (their own payslips).
            assert!(
                item.permission.is_empty() || module.permissions.contains(&item.permission),
                "menu entry {} names an unknown permission",
                item.href
            );
        }
        assert!(messages.contains(module.title_key));
        for (key, zh, en) in module.messages.iter() {
            assert!(!zh.is_empty() && !en.is_empty(), "{key} lacks a translation");
        }
    }
}

#[test]
fn message_keys_used_in_code_and_templates_exist() {
    let modules = server::modules();
    let tables: Vec<_> = modules.iter().map(|m| m.messages).collect();
    let messages = web::i18n::Messages::new(&tables);
    let mut missing = Vec::new();
    // The kernel has no messages; its strings are permission names and test data.
    let mut stack: Vec<PathBuf> = std::fs::read_dir(workspace().join("crates"))
        .expect("crates/")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| !p.ends_with("kernel"))
        .collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir").filter_map(|e| e.ok()) {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("tests") {
                    stack.push(path);
                }
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
            if ext != "rs" && ext != "html" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("file");
            for (i, _) in text.match_indices('"') {
                let rest = &text[i + 1..];
                let Some(end) = rest.find('"') else { continue };
                let candidate = &rest[..end];
                let prefixes = [
                    "error.", "common.", "nav.", "login.", "party.", "user.", "role.", "token.", "audit.", "webhook.",
                    "home.",
                ];
                let looks_like_key = prefixes.iter().any(|p| candidate.starts_with(p))
                    && candidate
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                    && !candidate.ends_with('.')
                    && candidate.split('.').count() >= 2
                    // `party.party…` names a resource or a permission, not a message.
                    && candidate.split('.').next() != candidate.split('.').nth(1);
                // A prefix completed at run time (`party.contact.{kind}`) is fine when keys with it exist.
                if looks_like_key
                    && !messages.contains(candidate)
                    && !messages.has_prefix(&format!("{candidate}."))
                    && !candidate.ends_with(".rs")
                    && !candidate.ends_with(".html")
                {
                    missing.push(format!("{}: {candidate}", path.display()));
                }
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "message keys without translations:\n{}", missing.join("\n"));
}

#[tokio::test]
async fn the_openapi_document_lists_every_api_route() {
    let app = testkit::spawn_app().await;
    let api = app.api("admin").await;
    let document = api.get("/api/v1/openapi.json").await.json();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().expect("paths");
    for path in ["/api/v1/parties", "/api/v1/parties/{id}", "/api/v1/parties/{id}/history", "/api/v1/me"] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    // Every documented operation answers (anything but 404/405) with a token.
    for (path, operations) in paths {
        let concrete = path.replace("{id}", "1");
        for method in operations.as_object().expect("operations").keys() {
            let method = axum::http::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let body = if method == axum::http::Method::GET || method == axum::http::Method::DELETE {
                None
            } else {
                Some(serde_json::json!({}))
            };
            let response = api.call(method.clone(), &concrete, body.as_ref()).await;
            assert!(
                response.status != axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not routed"
            );
            if response.status == axum::http::StatusCode::NOT_FOUND {
                assert_ne!(
                    response.json()["instance"],
                    serde_json::json!(null),
                    "{method} {path} is documented but not routed"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_demo_company_has_users_in_several_roles_and_valid_parties() {
    let app = testkit::spawn_app().await;
    let made = server::demo::seed(&app.db, app.company_id, 1).await.expect("seed");
    assert_eq!(made, 300);
    assert_eq!(server::demo::seed(&app.db, app.company_id, 1).await.expect("seed again"), 0, "seeding is idempotent");
    assert_eq!(server::demo::seed_catalog(&app.db, app.company_id).await.expect("catalog demo"), 206);
    let employees = server::demo::seed_hr(&app.db, app.company_id).await.expect("the organisation");
    assert_eq!(employees, 200);
    assert_eq!(server::demo::seed_hr(&app.db, app.company_id).await.expect("again"), 0, "seeding is idempotent");
    let vouchers = server::demo::seed_year(&app.db, app.company_id, (4, 2)).await.expect("a year of trade");
    // A year up to the current month (March 2026 on the tests' clock): April 2025 to March
    // 2026. Payroll ran every month: eleven posted, March (the current month) drafted.
    assert_eq!(app.count("hr_payroll_runs WHERE status = 'posted'").await, 11);
    assert_eq!(app.count("hr_payroll_runs WHERE status = 'draft' AND period = '2026-03'").await, 1);
    assert_eq!(app.count("hr_payroll_runs WHERE period = '2025-04'").await, 1, "the year starts in April 2025");
    assert!(app.count("hr_payslips").await >= 2_000);
    assert!(vouchers > 20, "{vouchers} vouchers");
    // March's bank statement so far: the movements of 1002, most of them matched, and the
    // bank's fee and interest left to book (they match nothing).
    let statement = app.count("fin_bank_lines").await;
    let matched = app.count("fin_bank_lines WHERE payment_id IS NOT NULL OR entry_id IS NOT NULL").await;
    assert!(statement > 2 && matched > 0, "{statement} lines, {matched} matched");
    assert_eq!(
        app.count("fin_bank_lines WHERE amount IN (-3750, 1234) AND payment_id IS NULL AND entry_id IS NULL").await,
        2
    );
    // January's project prepayment of 20,000.00, cut down: 8,000.00 went back, 12,000.00 waits.
    assert_eq!(app.count("fin_payments WHERE refunds_advance IS NOT NULL AND amount = 800000").await, 1);
    assert_eq!(
        app.count("fin_payments WHERE kind = 'receipt' AND amount = 2000000 AND unallocated = 1200000").await,
        1
    );
    // Hand-made vouchers are reviewed, and those that move cash signed by the cashier, from
    // now on: this month's depreciation and a travel claim paid from petty cash wait for
    // their review, the claim for the cashier's signature too.
    assert_eq!(app.count("fin_books WHERE review_vouchers = 1 AND cashier_signs = 1").await, 1);
    assert_eq!(app.count("fin_entries WHERE status = 'draft' AND kind = 'manual' AND reviewed_by IS NULL").await, 2);
    assert_eq!(app.count("fin_entries WHERE status = 'draft' AND word = '付' AND cashier_by IS NULL").await, 1);
    // The year ends with notebooks below their minimum: 20 on hand, 40 to order.
    let admin = app.api("admin").await;
    let due = admin.get("/api/v1/stock/replenishment").await.json();
    let notebooks = due["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["product_code"] == "NB-14")
        .expect("notebooks are due")
        .clone();
    assert_eq!((notebooks["on_hand"].as_str(), notebooks["to_order"].as_str()), (Some("20"), Some("40")));
    // Every quantity and value went through the modules: the stock valuation is the ledger's 1405.
    let valuation = admin.get("/api/v1/stock/valuation").await.json();
    assert_eq!(valuation["total"], valuation["ledger_balance"], "{valuation}");
    assert_ne!(valuation["total"], "0.00");
    assert!(app.count("sal_orders WHERE status = 'done'").await > 4);
    assert!(app.count("pur_orders WHERE status = 'received'").await > 2);
    assert!(app.count("sal_orders WHERE status = 'quotation'").await >= 1, "the current month keeps a quotation");
    let chen = app.api("chen.jing").await;
    let sheet = chen.get("/api/v1/finance/reports/balance-sheet?period=2026-03").await.json();
    let line = |key: &str| {
        sheet["lines"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["key"] == key))
            .and_then(|x| x["amount"].as_str())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(line("total_assets"), line("total_liabilities_and_equity"));
    assert_ne!(line("total_assets"), "0.00");
    // The customer abroad: six dollar invoices, each but the last paid in dollars the month
    // after at another rate, the difference in 财务费用.
    assert_eq!(app.count("fin_invoice_currency WHERE currency = 'USD'").await, 6);
    assert_eq!(app.count("fin_payment_currency WHERE currency = 'USD'").await, 5);
    assert_eq!(app.count("fin_invoice_currency WHERE settled < total").await, 1);
    // Each closed month's unpaid VAT was transferred at its end (or a credit carried
    // forward), and paid the month after: last month leaves nothing to transfer.
    let months = chen.get("/api/v1/finance/periods").await.json();
    let closed: Vec<&str> = months["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|p| p["status"] == "closed")
        .filter_map(|p| p["period"].as_str())
        .collect();
    let last_closed = closed.iter().max().expect("a closed month");
    let vat = chen.get(&format!("/api/v1/finance/reports/vat?from={last_closed}&to={last_closed}")).await.json();
    assert_eq!(vat["to_transfer"], "0.00", "{vat}");
    assert_ne!(vat["output"], "0.00", "the month's sales carried VAT: {vat}");
    // Their rates came from the rate table, entered twice a month for the year.
    assert_eq!(app.count("fin_exchange_rates WHERE currency = 'USD'").await, 24);
    let booked = app.count("fin_invoice_currency c WHERE c.rate IN (SELECT rate FROM fin_exchange_rates)").await;
    assert_eq!(booked, 6, "each dollar invoice at a rate of the table");
    let dollars = chen.get("/api/v1/finance/invoices?kind=customer&status=open").await.json();
    assert!(dollars["items"].as_array().expect("items").iter().any(|i| i["currency"] == "USD"), "{dollars}");
    let periods = chen.get("/api/v1/finance/periods").await.json();
    let status: Vec<(&str, &str)> = periods["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| (p["period"].as_str().unwrap_or(""), p["status"].as_str().unwrap_or("")))
        .collect();
    assert!(status.contains(&("2025-04", "closed")) && status.contains(&("2026-02", "closed")), "{status:?}");
    assert!(status.contains(&("2026-03", "open")) && !status.iter().any(|(p, _)| *p < "2025-04"), "{status:?}");
    // December closed the year: 2025's profit or loss went on from 本年利润 to 利润分配.
    let at_year_end = |code: &'static str| {
        let app = &app;
        async move {
            sqlx::query(
                "SELECT CAST(COALESCE(SUM(b.debit - b.credit), 0) AS BIGINT) AS net FROM fin_balances b \
                 JOIN fin_accounts a ON a.id = b.account_id WHERE a.code = $1 AND b.period <= '2025-12'",
            )
            .bind(code)
            .fetch_one(app.db.reader())
            .await
            .expect("balance")
            .get::<i64, _>("net")
        }
    };
    assert_eq!(at_year_end("4103").await, 0);
    assert_ne!(at_year_end("4104").await, 0);
    // This year's budgets, one per department and expense account: the eastern sales group,
    // held to 90 % of what it spent last year, runs over in January and February (March's
    // payroll is still a draft).
    let budgets = chen.get("/api/v1/finance/budgets?from=2026-01&to=2026-02").await.json();
    let groups = budgets["groups"].as_array().expect("groups");
    assert!(groups.len() >= 5, "{budgets}");
    let east = groups.iter().find(|g| g["cost_center"] == "SAL-E").expect("the eastern sales group's budget");
    assert_eq!(east["over"], true, "{east}");
    let wang = app.signed_in_with("wang.fang", server::demo::DEMO_PASSWORD).await;
    assert_eq!(wang.get("/parties").await.status, axum::http::StatusCode::OK);
    // The pipeline: leads, opportunities in every open stage, campaigns with their effect.
    let pipeline = server::demo::seed_crm(&app.db, app.company_id).await.expect("the demo pipeline");
    assert!(pipeline > 50, "{pipeline} leads and opportunities");
    assert_eq!(server::demo::seed_crm(&app.db, app.company_id).await.expect("again"), 0, "seeding is idempotent");
    assert!(app.count("crm_opportunities WHERE status = 'open'").await > 20);
    assert!(app.count("crm_campaign_members").await >= 1, "the VIP campaign touched its segment");
    assert_eq!(app.count("crm_tickets").await, 12, "the service desk has its tickets");
    assert!(app.count("crm_surveys WHERE answered_at IS NOT NULL").await >= 1, "and answered surveys");
    assert_eq!(wang.get("/crm/pipeline").await.status, axum::http::StatusCode::OK);
    match db::audit::verify(&app.db).await.expect("verify") {
        db::audit::Verdict::Intact { rows, .. } => assert!(rows > 300),
        broken => panic!("{broken:?}"),
    }
}
