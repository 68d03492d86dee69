//! Voucher review (凭证审核) at a trading company whose chief accountant reviews what the
//! accountant enters: the rule turned on, a voucher refused until reviewed, the preparer kept
//! from reviewing their own, a change taking the review away, and the signatures on the
//! posted voucher.

use crate::bank::imported_lines;
use crate::invoicing::{party, posted_invoice};
use crate::ledger::voucher;
use crate::vat_return::document;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use testkit::{spawn_app, ApiClient, TestApp};

/// A trading company's finance office with its books set up for 2026: the accountant
/// `chen.jing` who enters vouchers, the chief accountant `qian.hui` who reviews them and sets
/// the rules, and the cashier `wu.xia`.
struct Office {
    clerk: ApiClient,
    chief: ApiClient,
    cashier: ApiClient,
}

async fn finance_office(app: &TestApp) -> Office {
    app.user("chen.jing", &["accountant"], "", "finance").await;
    app.user("qian.hui", &["chief_accountant"], "", "finance").await;
    app.user("wu.xia", &["cashier"], "", "finance").await;
    let office = Office {
        clerk: app.api("chen.jing").await,
        chief: app.api("qian.hui").await,
        cashier: app.api("wu.xia").await,
    };
    office.chief.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    office
}

#[tokio::test]
async fn a_hand_entered_voucher_is_posted_only_after_a_second_person_reviews_it() {
    let app = spawn_app().await;
    let Office { clerk, chief, cashier: _ } = finance_office(&app).await;

    // Off by default: the accountant posts her own voucher at once.
    let settings = clerk.get("/api/v1/finance/settings").await.json();
    assert_eq!(settings["review_vouchers"], false);
    let rent = clerk
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-03-01", "预付三月房租", &[("6602", "6000.00", ""), ("1002", "", "6000.00")]),
        )
        .await
        .json();
    let posted = clerk.post(&format!("/api/v1/finance/entries/{}/post", rent["id"]), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);

    // The accountant may manage the books but cannot turn the rule that checks her on or off;
    // the chief accountant turns it on, and the change is audited.
    let hers = clerk.patch("/api/v1/finance/settings", &json!({"review_vouchers": true})).await;
    assert_eq!(hers.status, StatusCode::FORBIDDEN, "{}", hers.body);
    let on = chief.patch("/api/v1/finance/settings", &json!({"review_vouchers": true})).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert_eq!(on.json()["review_vouchers"], true);
    assert_eq!(app.count("audit_log WHERE resource = 'finance.books' AND changes LIKE '%review_vouchers%'").await, 1);

    // The accountant enters March's wages, 48,000.00; posting it unreviewed is refused and
    // nothing is posted. She cannot review it: she has no such grant.
    let wages = clerk
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-03-31", "计提三月工资", &[("6602", "48000.00", ""), ("2211", "", "48000.00")]),
        )
        .await
        .json();
    let id = wages["id"].as_i64().expect("id");
    assert_eq!(wages["prepared_by"], "chen.jing");
    let early = clerk.post(&format!("/api/v1/finance/entries/{id}/post"), &json!({})).await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", early.body);
    assert_eq!(early.json()["errors"][0]["field"], "post");
    assert_eq!(app.count(&format!("fin_entries WHERE id = {id} AND status = 'draft'")).await, 1);
    let own = clerk.post(&format!("/api/v1/finance/entries/{id}/review"), &json!({})).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);

    // A voucher the chief accountant enters herself is not hers to review either.
    let fee = chief
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-03-31", "银行手续费", &[("6603", "15.00", ""), ("1002", "", "15.00")]),
        )
        .await
        .json();
    let hers = chief.post(&format!("/api/v1/finance/entries/{}/review", fee["id"]), &json!({})).await;
    assert_eq!(hers.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", hers.body);
    assert_eq!(hers.json()["errors"][0]["field"], "review");

    // She reviews the wages as she read them; a version older than the stored one (the
    // accountant saved a change after she opened it) is refused, as she would sign what she
    // did not see. Reviewing twice is refused.
    let read = chief.get(&format!("/api/v1/finance/entries/{id}")).await.json()["version"].as_i64().expect("version");
    let stale = chief.post(&format!("/api/v1/finance/entries/{id}/review"), &json!({"version": read - 1})).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    let reviewed = chief.post(&format!("/api/v1/finance/entries/{id}/review"), &json!({"version": read})).await;
    assert_eq!(reviewed.status, StatusCode::OK, "{}", reviewed.body);
    assert_eq!(reviewed.json()["reviewed_by"], "qian.hui");
    let twice = chief.post(&format!("/api/v1/finance/entries/{id}/review"), &json!({})).await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", twice.body);

    // The accountant corrects the amount to 46,500.00: what was reviewed is gone, so is the
    // review, and posting is refused again until the chief accountant reviews the new figure.
    let corrected = voucher("2026-03-31", "计提三月工资", &[("6602", "46500.00", ""), ("2211", "", "46500.00")]);
    let changed = clerk.call(Method::PUT, &format!("/api/v1/finance/entries/{id}"), Some(&corrected)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.json()["reviewed_by"], Value::Null);
    let again = clerk.post(&format!("/api/v1/finance/entries/{id}/post"), &json!({})).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", again.body);
    chief.post(&format!("/api/v1/finance/entries/{id}/review"), &json!({})).await;

    // A document attached to the reviewed draft takes the review away too: the reviewer did
    // not see it.
    let attached = clerk
        .post(
            &format!("/api/v1/finance/entries/{id}/attachments"),
            &json!({"file_name": "工资表.pdf", "content_base64": "JVBERi0xLjQKJcOkw7zDtsOfCg=="}),
        )
        .await;
    assert_eq!(attached.status, StatusCode::CREATED, "{}", attached.body);
    assert_eq!(clerk.get(&format!("/api/v1/finance/entries/{id}")).await.json()["reviewed_by"], Value::Null);
    chief.post(&format!("/api/v1/finance/entries/{id}/review"), &json!({})).await;

    // A review can be cancelled, and given again, while the draft is unposted.
    let cancelled = chief.call(Method::DELETE, &format!("/api/v1/finance/entries/{id}/review"), None).await;
    assert_eq!((cancelled.status, cancelled.json()["reviewed_by"].clone()), (StatusCode::OK, Value::Null));
    chief.post(&format!("/api/v1/finance/entries/{id}/review"), &json!({})).await;

    // Reviewed, the accountant posts it; the voucher carries all three signatures, and it can
    // no longer be reviewed or un-reviewed.
    let posted = clerk.post(&format!("/api/v1/finance/entries/{id}/post"), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    let signed = posted.json();
    assert_eq!(
        (
            signed["number"].as_str(),
            signed["prepared_by"].as_str(),
            signed["reviewed_by"].as_str(),
            signed["posted_by"].as_str()
        ),
        (Some("记-0002"), Some("chen.jing"), Some("qian.hui"), Some("chen.jing"))
    );
    let late = chief.call(Method::DELETE, &format!("/api/v1/finance/entries/{id}/review"), None).await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", late.body);
    let trail = app
        .count(&format!(
            "audit_log WHERE resource = 'finance.entry' AND resource_id = '{id}' AND changes LIKE '%reviewed_by%'"
        ))
        .await;
    assert_eq!(trail, 7, "four reviews, one change, one document added and one cancellation");

    // Whoever changed a draft last may not review it either: the chief accountant rewrites
    // the accountant's travel claim, so she cannot sign it, though its preparer stays the
    // accountant.
    let travel = clerk
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-03-20", "报销差旅费", &[("6602", "980.00", ""), ("1001", "", "980.00")]),
        )
        .await
        .json();
    let rewritten = voucher("2026-03-20", "报销差旅费", &[("6602", "9800.00", ""), ("1001", "", "9800.00")]);
    let changed = chief.call(Method::PUT, &format!("/api/v1/finance/entries/{}", travel["id"]), Some(&rewritten)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let own_change = chief.post(&format!("/api/v1/finance/entries/{}/review", travel["id"]), &json!({})).await;
    assert_eq!(own_change.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", own_change.body);
    assert_eq!(changed.json()["prepared_by"], "chen.jing");

    // On the pages: the accountant's draft shows no post button but the note that it awaits
    // review, and the new-voucher form offers no "save and post"; the chief accountant's page
    // of it offers the review, and the posted voucher's foot names the three people.
    let draft = clerk
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-03-31", "计提折旧", &[("6602", "800.00", ""), ("1602", "", "800.00")]),
        )
        .await
        .json();
    let browser = app.signed_in("chen.jing").await;
    let page = browser.get(&format!("/finance/entries/{}", draft["id"])).await;
    assert!(page.body.contains("id=\"awaits-review\"") && !page.body.contains("/post\""), "{}", page.body);
    assert!(!browser.get("/finance/entries/new").await.body.contains("name=\"post\" value=\"true\""));
    let chiefs = app.signed_in("qian.hui").await;
    let page = chiefs.get(&format!("/finance/entries/{}", draft["id"])).await;
    assert!(page.body.contains(&format!("/finance/entries/{}/review", draft["id"])), "{}", page.body);
    let reviewed = chiefs
        .post_form(
            &format!("/finance/entries/{}", draft["id"]),
            &format!("/finance/entries/{}/review", draft["id"]),
            &[],
        )
        .await;
    assert_eq!(reviewed.status, StatusCode::SEE_OTHER, "{}", reviewed.body);
    let foot = browser.get(&format!("/finance/entries/{id}")).await;
    let signatures = foot.body.split("id=\"signatures\"").nth(1).expect("the signatures");
    let signatures = &signatures[..signatures.find("</p>").expect("end")];
    assert!(
        signatures.contains("Posted by: chen.jing")
            && signatures.contains("Reviewed by: qian.hui")
            && signatures.contains("Prepared by: chen.jing"),
        "{signatures}"
    );

    // The chief accountant's worklist: the drafts awaiting review in every month (February's
    // forgotten one too, but not the depreciation she reviewed), and the bookkeeper's: the
    // reviewed drafts to post.
    let forgotten = clerk
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-02-27", "报销差旅费", &[("6602", "1380.00", ""), ("1001", "", "1380.00")]),
        )
        .await
        .json();
    let memos = async |query: &str| -> Vec<String> {
        let list = chief.get(&format!("/api/v1/finance/entries?{query}")).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        list.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|e| e["memo"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(memos("stage=awaiting_review").await, vec!["报销差旅费", "报销差旅费", "银行手续费"]);
    assert_eq!(memos("stage=reviewed").await, vec!["计提折旧"]);
    assert_eq!(memos("stage=awaiting_review&period=2026-02").await, vec!["报销差旅费"]);
    assert_eq!(memos("stage=posted&period=2026-03").await, vec!["计提三月工资", "预付三月房租"]);
    let wrong = chief.get("/api/v1/finance/entries?stage=approved").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    assert_eq!(wrong.json()["errors"][0]["field"], "stage");
    let entries = chiefs.get("/finance/entries").await;
    assert!(entries.body.contains("href=\"/finance/entries?stage=awaiting_review\""), "{}", entries.body);
    let worklist = chiefs.get("/finance/entries?stage=awaiting_review").await;
    assert!(worklist.body.contains(&format!("/finance/entries/{}", forgotten["id"])), "{}", worklist.body);
    assert!(!worklist.body.contains(&format!("/finance/entries/{}\"", draft["id"])), "{}", worklist.body);
}

#[tokio::test]
async fn a_reversal_made_while_review_is_on_waits_for_its_own_review_before_it_moves_anything() {
    let app = spawn_app().await;
    let Office { clerk, chief, cashier: _ } = finance_office(&app).await;
    chief.patch("/api/v1/finance/settings", &json!({"review_vouchers": true})).await;

    // March's wages, 48,000.00, paid from the bank: entered, reviewed, posted, and matched
    // with the statement's line.
    let wages = clerk
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-03-10", "发放二月工资", &[("2211", "48000.00", ""), ("1002", "", "48000.00")]),
        )
        .await
        .json();
    let id = wages["id"].as_i64().expect("id");
    chief.post(&format!("/api/v1/finance/entries/{id}/review"), &json!({})).await;
    let posted = clerk.post(&format!("/api/v1/finance/entries/{id}/post"), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    let line = imported_lines(&chief, "日期,金额,摘要\n2026-03-10,-48000.00,代发工资\n").await[0]["id"].clone();
    let matched = chief.post(&format!("/api/v1/finance/bank-lines/{line}/match"), &json!({"entry_id": id})).await;
    assert_eq!(matched.status, StatusCode::OK, "{}", matched.body);
    let bank_balance = async || -> Value {
        let tb = chief.get("/api/v1/finance/reports/trial-balance?from=2026-03&to=2026-03").await.json();
        let bank = tb["items"].as_array().expect("items").iter().find(|r| r["code"] == "1002").cloned();
        // An account the month moved nothing in, net, is not listed.
        bank.map(|r| r["closing"].clone()).unwrap_or(json!("0.00"))
    };
    assert_eq!(bank_balance().await, "-48000.00");

    // The voucher named the wrong month, so the accountant reverses it. The red-ink reversal
    // is a draft she prepared, unnumbered: nothing moves, and the bank line stays matched.
    let reversed = clerk.post(&format!("/api/v1/finance/entries/{id}/reverse"), &json!({"date": "2026-03-12"})).await;
    assert_eq!(reversed.status, StatusCode::CREATED, "{}", reversed.body);
    let reversal = reversed.json();
    let rid = reversal["id"].as_i64().expect("id");
    assert_eq!(
        (reversal["status"].as_str(), reversal["number"].clone(), reversal["prepared_by"].as_str()),
        (Some("draft"), Value::Null, Some("chen.jing"))
    );
    assert_eq!(reversal["lines"][0]["debit"], "-48000.00");
    assert_eq!(bank_balance().await, "-48000.00");
    assert_eq!(app.count("fin_bank_lines WHERE entry_id IS NOT NULL").await, 1);
    // The wages voucher stands until then: its reversal is pending, not done.
    let original = clerk.get(&format!("/api/v1/finance/entries/{id}")).await.json();
    assert_eq!((original["pending_reversal"].as_i64(), original["reversed_by"].clone()), (Some(rid), Value::Null));
    // It is reversed once: a second reversal is refused while the first waits.
    let twice = clerk.post(&format!("/api/v1/finance/entries/{id}/reverse"), &json!({"date": "2026-03-13"})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);

    // Its lines are the reversed voucher's, so it is not edited; it waits on the reviewer's
    // list, and posting it before the review is refused.
    let edit = voucher("2026-03-12", "冲销", &[("2211", "-100.00", ""), ("1002", "", "-100.00")]);
    let edited = clerk.call(Method::PUT, &format!("/api/v1/finance/entries/{rid}"), Some(&edit)).await;
    assert_eq!(edited.status, StatusCode::CONFLICT, "{}", edited.body);
    let waiting = chief.get("/api/v1/finance/entries?stage=awaiting_review").await.json();
    assert_eq!(waiting["items"][0]["id"], rid, "{waiting}");
    let early = clerk.post(&format!("/api/v1/finance/entries/{rid}/post"), &json!({})).await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", early.body);
    assert_eq!(early.json()["errors"][0]["code"], "error.finance.needs_review");
    let own = chief.post(&format!("/api/v1/finance/entries/{rid}/review"), &json!({})).await;
    assert_eq!(own.status, StatusCode::OK, "the chief accountant did not prepare it: {}", own.body);

    // Reviewed, it is posted: numbered in March, the bank balance back to nothing, and the
    // statement line free to be matched with the right voucher.
    let posted = clerk.post(&format!("/api/v1/finance/entries/{rid}/post"), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    let signed = posted.json();
    assert_eq!(
        (signed["number"].as_str(), signed["reviewed_by"].as_str(), signed["posted_by"].as_str()),
        (Some("记-0002"), Some("qian.hui"), Some("chen.jing"))
    );
    assert_eq!(bank_balance().await, "0.00");
    assert_eq!(app.count("fin_bank_lines WHERE entry_id IS NOT NULL").await, 0);
    let unmatched = app.count("audit_log WHERE resource = 'finance.bank_line' AND changes LIKE '%entry_id%'").await;
    assert_eq!(unmatched, 2, "matched, then unmatched when the reversal was posted");
    assert_eq!(clerk.get(&format!("/api/v1/finance/entries/{id}")).await.json()["reversed_by"], rid);

    // The voucher's page shows the waiting reversal's review button to the chief accountant,
    // and no edit link to anyone.
    let again = clerk
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-03-31", "计提三月工资", &[("6602", "46500.00", ""), ("2211", "", "46500.00")]),
        )
        .await
        .json();
    let aid = again["id"].as_i64().expect("id");
    chief.post(&format!("/api/v1/finance/entries/{aid}/review"), &json!({})).await;
    clerk.post(&format!("/api/v1/finance/entries/{aid}/post"), &json!({})).await;
    let browser = app.signed_in("chen.jing").await;
    let reversed = browser
        .post_form(
            &format!("/finance/entries/{aid}"),
            &format!("/finance/entries/{aid}/reverse"),
            &[("date", "2026-03-31")],
        )
        .await;
    assert_eq!(reversed.status, StatusCode::SEE_OTHER, "{}", reversed.body);
    let draft = reversed.header("location").expect("the reversal's page");
    let page = browser.get(&draft).await;
    assert!(page.body.contains("id=\"awaits-review\"") && !page.body.contains("/edit\""), "{}", page.body);
    let chiefs = app.signed_in("qian.hui").await;
    assert!(chiefs.get(&draft).await.body.contains(&format!("{draft}/review\"")));

    // The chief accountant reverses the March accrual herself: the reversal is hers, so she
    // may not review it. She deletes it, and the accrual can be reversed again.
    let hers = chief.post(&format!("/api/v1/finance/entries/{aid}/reverse"), &json!({"date": "2026-03-31"})).await;
    assert_eq!(hers.status, StatusCode::CONFLICT, "the clerk's reversal waits already: {}", hers.body);
    let waiting_id = clerk.get(&format!("/api/v1/finance/entries/{aid}")).await.json()["pending_reversal"].clone();
    let deleted = chief.call(Method::DELETE, &format!("/api/v1/finance/entries/{waiting_id}"), None).await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    let hers = chief.post(&format!("/api/v1/finance/entries/{aid}/reverse"), &json!({"date": "2026-03-31"})).await;
    assert_eq!(hers.status, StatusCode::CREATED, "{}", hers.body);
    let own = chief.post(&format!("/api/v1/finance/entries/{}/review", hers.json()["id"]), &json!({})).await;
    assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", own.body);
    assert_eq!(own.json()["errors"][0]["code"], "error.finance.review_own");

    // A voucher made and posted in one step by code (an import) is "save and post": refused
    // while the rule is on, and nothing is stored.
    let form: finance::domain::EntryForm =
        serde_json::from_value(voucher("2026-03-31", "期初导入", &[("1001", "500.00", ""), ("4001", "", "500.00")]))
            .expect("form");
    let admin = crate::ledger::admin_principal(app.company_id);
    let mut tx = app.db.begin(db::Actor::user(1, "admin", app.company_id)).await.expect("begin");
    let at_once = finance::service::post(&mut tx, &admin, &form).await;
    drop(tx);
    let refusal = format!("{:?}", at_once.expect_err("posted unreviewed"));
    assert!(refusal.contains("error.finance.needs_review"), "{refusal}");
    assert_eq!(app.count("fin_entries WHERE memo = '期初导入'").await, 0);
}

#[tokio::test]
async fn a_voucher_that_moves_cash_is_posted_only_once_the_cashier_has_signed_it() {
    let app = spawn_app().await;
    let Office { clerk, chief, cashier } = finance_office(&app).await;

    // The cashier cannot set the rule that asks for her; the chief accountant turns it on,
    // audited. Review stays off.
    let hers = cashier.patch("/api/v1/finance/settings", &json!({"cashier_signs": true})).await;
    assert_eq!(hers.status, StatusCode::FORBIDDEN, "{}", hers.body);
    // On the chart page, a value that is neither on nor off is refused beside its field, and
    // nothing changes.
    let chiefs_page = app.signed_in("qian.hui").await;
    let wrong =
        chiefs_page.post_form("/finance/accounts", "/finance/settings", &[("cashier_signs", "sometimes")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    let beside = wrong.body.split("id=\"cashier_signs\"").nth(1).expect("the field");
    assert!(beside[..beside.find("</div>").expect("field")].contains("role=\"alert\""), "{beside}");
    assert_eq!(chief.get("/api/v1/finance/settings").await.json()["cashier_signs"], false);
    let on = chief.patch("/api/v1/finance/settings", &json!({"cashier_signs": true})).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert_eq!((on.json()["cashier_signs"].clone(), on.json()["review_vouchers"].clone()), (json!(true), json!(false)));
    assert_eq!(app.count("audit_log WHERE resource = 'finance.books' AND changes LIKE '%cashier_signs%'").await, 1);

    // A travel claim of 980.00 paid from petty cash waits for the cashier; the month's
    // depreciation moves no cash, so it is posted at once, and the cashier has nothing to
    // sign on such a voucher.
    let travel = clerk
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-03-20", "报销差旅费", &[("6602", "980.00", ""), ("1001", "", "980.00")]),
        )
        .await
        .json();
    let id = travel["id"].as_i64().expect("id");
    let early = clerk.post(&format!("/api/v1/finance/entries/{id}/post"), &json!({})).await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", early.body);
    assert_eq!(
        (early.json()["errors"][0]["field"].clone(), early.json()["errors"][0]["code"].clone()),
        (json!("post"), json!("error.finance.needs_cashier"))
    );
    let depreciation = clerk
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-03-31", "计提折旧", &[("6602", "800.00", ""), ("1602", "", "800.00")]),
        )
        .await
        .json();
    let nothing = cashier.post(&format!("/api/v1/finance/entries/{}/cashier", depreciation["id"]), &json!({})).await;
    assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", nothing.body);
    assert_eq!(nothing.json()["errors"][0]["field"], "cashier");
    let posted = clerk.post(&format!("/api/v1/finance/entries/{}/post", depreciation["id"]), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);

    // The cashier's worklist holds the travel claim. She signs the version she read; an older
    // one is refused, and so is signing twice. The accountant may not sign for her.
    let waiting = cashier.get("/api/v1/finance/entries?stage=awaiting_cashier").await.json();
    assert_eq!(waiting["items"].as_array().map(Vec::len), Some(1), "{waiting}");
    assert_eq!(waiting["items"][0]["id"], id);
    let not_hers = clerk.post(&format!("/api/v1/finance/entries/{id}/cashier"), &json!({})).await;
    assert_eq!(not_hers.status, StatusCode::FORBIDDEN, "{}", not_hers.body);
    let read = travel["version"].as_i64().expect("version");
    let stale = cashier.post(&format!("/api/v1/finance/entries/{id}/cashier"), &json!({"version": read - 1})).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    let signed = cashier.post(&format!("/api/v1/finance/entries/{id}/cashier"), &json!({"version": read})).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    assert_eq!(signed.json()["cashier_by"], "wu.xia");
    let twice = cashier.post(&format!("/api/v1/finance/entries/{id}/cashier"), &json!({})).await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", twice.body);

    // The accountant attaches the hotel's invoice: the cashier did not see it, so her
    // signature goes, and the page she read before is out of date.
    let attached = clerk
        .post(
            &format!("/api/v1/finance/entries/{id}/attachments"),
            &json!({"file_name": "住宿发票.pdf", "content_base64": "JVBERi0xLjQKJcOkw7zDtsOfCg=="}),
        )
        .await;
    assert_eq!(attached.status, StatusCode::CREATED, "{}", attached.body);
    assert_eq!(clerk.get(&format!("/api/v1/finance/entries/{id}")).await.json()["cashier_by"], Value::Null);
    let old_page = cashier.post(&format!("/api/v1/finance/entries/{id}/cashier"), &json!({"version": read})).await;
    assert_eq!(old_page.status, StatusCode::CONFLICT, "{}", old_page.body);
    let signed = cashier.post(&format!("/api/v1/finance/entries/{id}/cashier"), &json!({})).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);

    // The receipt says 1,080.00: the accountant corrects the draft, the signature goes with
    // what was signed, and the cashier signs the new figure.
    let corrected = voucher("2026-03-20", "报销差旅费", &[("6602", "1080.00", ""), ("1001", "", "1080.00")]);
    let changed = clerk.call(Method::PUT, &format!("/api/v1/finance/entries/{id}"), Some(&corrected)).await;
    assert_eq!(changed.json()["cashier_by"], Value::Null);
    let again = clerk.post(&format!("/api/v1/finance/entries/{id}/post"), &json!({})).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", again.body);
    let cancelled = cashier.call(Method::DELETE, &format!("/api/v1/finance/entries/{id}/cashier"), None).await;
    assert_eq!(cancelled.status, StatusCode::UNPROCESSABLE_ENTITY, "nothing to cancel: {}", cancelled.body);
    cashier.post(&format!("/api/v1/finance/entries/{id}/cashier"), &json!({})).await;

    // Signed, it is posted; its foot names the cashier, on the page too.
    let posted = clerk.post(&format!("/api/v1/finance/entries/{id}/post"), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    let voucher_json = posted.json();
    assert_eq!(
        (voucher_json["cashier_by"].as_str(), voucher_json["prepared_by"].as_str(), voucher_json["posted_by"].as_str()),
        (Some("wu.xia"), Some("chen.jing"), Some("chen.jing"))
    );
    let trail = app
        .count(&format!(
            "audit_log WHERE resource = 'finance.entry' AND resource_id = '{id}' AND changes LIKE '%cashier_by%'"
        ))
        .await;
    assert_eq!(trail, 5, "three signatures, a document and a change taking two away");
    let browser = app.signed_in("chen.jing").await;
    let foot = browser.get(&format!("/finance/entries/{id}")).await;
    assert!(foot.body.contains("Cashier: wu.xia"), "{}", foot.body);

    // Reversed, with only the cashier's rule on, the red-ink voucher of the petty cash waits
    // for her signature too; then it is posted.
    let reversed = clerk.post(&format!("/api/v1/finance/entries/{id}/reverse"), &json!({"date": "2026-03-25"})).await;
    let reversal = reversed.json();
    assert_eq!(reversal["status"], "draft", "{reversal}");
    let rid = reversal["id"].as_i64().expect("id");
    let page = app.signed_in("wu.xia").await.get(&format!("/finance/entries/{rid}")).await;
    assert!(page.body.contains(&format!("/finance/entries/{rid}/cashier\"")), "{}", page.body);
    let clerks_page = browser.get(&format!("/finance/entries/{rid}")).await;
    assert!(clerks_page.body.contains("id=\"awaits-cashier\""), "{}", clerks_page.body);
    cashier.post(&format!("/api/v1/finance/entries/{rid}/cashier"), &json!({})).await;
    let posted = clerk.post(&format!("/api/v1/finance/entries/{rid}/post"), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);

    // The bank's fee and interest on the statement. The accountant may post but not sign as
    // cashier, so booking the fee makes a draft from the line; the cashier signs it, the
    // accountant posts it, and the line is matched with it. The administrator, who may do all
    // of it, books the interest at once, signed as the cashier's.
    let csv = "日期,金额,摘要\n2026-03-31,-15.00,手续费\n2026-03-31,3.20,结息\n2026-03-31,-8.00,短信服务费\n";
    let lines = imported_lines(&chief, csv).await;
    let line_of = |amount: &str| lines.iter().find(|l| l["amount"] == amount).map(|l| l["id"].clone()).expect("line");
    let (fee, interest, sms) = (line_of("-15.00"), line_of("3.20"), line_of("-8.00"));
    let booked = clerk.post(&format!("/api/v1/finance/bank-lines/{fee}/book"), &json!({"account": "6603"})).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);
    assert_eq!(booked.json()["status"], "draft");
    let draft = booked.json()["entry_id"].as_i64().expect("the draft");
    assert_eq!(app.count(&format!("fin_bank_lines WHERE id = {fee} AND entry_id IS NULL")).await, 1, "still open");
    // Booked again while its draft waits, the line is refused: the fee would be booked twice.
    let twice = clerk.post(&format!("/api/v1/finance/bank-lines/{fee}/book"), &json!({"account": "6603"})).await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", twice.body);
    assert_eq!(twice.json()["errors"][0]["code"], "error.bank.draft_made");
    assert_eq!(app.count("fin_entries WHERE status = 'draft' AND memo = '手续费'").await, 1, "one draft only");
    cashier.post(&format!("/api/v1/finance/entries/{draft}/cashier"), &json!({})).await;
    let posted = clerk.post(&format!("/api/v1/finance/entries/{draft}/post"), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    assert_eq!(app.count(&format!("fin_bank_lines WHERE id = {fee} AND entry_id = {draft}")).await, 1, "matched");
    let admin = app.api("admin").await;
    let booked = admin.post(&format!("/api/v1/finance/bank-lines/{interest}/book"), &json!({"account": "6603"})).await;
    assert_eq!(
        (booked.status, booked.json()["status"].clone()),
        (StatusCode::CREATED, json!("posted")),
        "{}",
        booked.body
    );
    let signed = app.count("fin_entries WHERE kind = 'bank' AND cashier_by = 1 AND status = 'posted'").await;
    assert_eq!(signed, 1);
    assert_eq!(app.count("fin_bank_lines WHERE entry_id IS NULL").await, 1, "the fee and the interest matched");

    // The cashier books the text-message fee from the bank page: she may not post, so the
    // page opens the draft, which she has signed as cashier. She deletes it, having typed the
    // wrong account, and the line can be booked again.
    let browser = app.signed_in("wu.xia").await;
    let page = browser.get("/finance/bank").await;
    assert!(page.body.contains(&format!("/finance/bank/{sms}/book")), "the cashier may book: {}", page.body);
    let booked = browser.post_form("/finance/bank", &format!("/finance/bank/{sms}/book"), &[("account", "6602")]).await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
    let draft_page = booked.header("location").expect("the draft's page");
    let sms_draft: i64 = draft_page.rsplit('/').next().and_then(|id| id.parse().ok()).expect("the draft's id");
    assert_eq!(
        app.count(&format!("fin_entries WHERE id = {sms_draft} AND status = 'draft' AND cashier_by IS NOT NULL")).await,
        1
    );
    let deleted = cashier.call(Method::DELETE, &format!("/api/v1/finance/entries/{sms_draft}"), None).await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    let again = cashier.post(&format!("/api/v1/finance/bank-lines/{sms}/book"), &json!({"account": "6603"})).await;
    assert_eq!((again.status, again.json()["status"].clone()), (StatusCode::CREATED, json!("draft")), "{}", again.body);
    let sms_draft = again.json()["entry_id"].as_i64().expect("the draft");

    // While her draft stands for the line, the administrator can neither book the line at
    // once nor match it with another voucher: the fee would be booked twice.
    let at_once = admin.post(&format!("/api/v1/finance/bank-lines/{sms}/book"), &json!({"account": "6603"})).await;
    assert_eq!(at_once.json()["errors"][0]["code"], "error.bank.draft_made", "{}", at_once.body);
    let other = admin.post(&format!("/api/v1/finance/bank-lines/{sms}/match"), &json!({"entry_id": draft})).await;
    assert_eq!(
        (other.json()["errors"][0]["field"].clone(), other.json()["errors"][0]["code"].clone()),
        (json!("entry_id"), json!("error.bank.draft_made")),
        "{}",
        other.body
    );
    // The bank page links the waiting draft in place of the line's buttons. Posted, the
    // draft is matched with the line; reversed because the account was wrong, it leaves the
    // line open again, and the administrator books it at once.
    let bank_page = browser.get("/finance/bank").await;
    let row = bank_page.body.split(&format!("id=\"line-{sms}\"")).nth(1).expect("the line's row");
    let row = &row[..row.find("</tr>").expect("row")];
    assert!(row.contains(&format!("/finance/entries/{sms_draft}")) && !row.contains("/book\""), "{row}");
    clerk.post(&format!("/api/v1/finance/entries/{sms_draft}/post"), &json!({})).await;
    assert_eq!(app.count(&format!("fin_bank_lines WHERE id = {sms} AND entry_id = {sms_draft}")).await, 1);
    let reversal =
        clerk.post(&format!("/api/v1/finance/entries/{sms_draft}/reverse"), &json!({"date": "2026-03-31"})).await;
    let rid = reversal.json()["id"].as_i64().expect("the red-ink draft");
    cashier.post(&format!("/api/v1/finance/entries/{rid}/cashier"), &json!({})).await;
    let posted = clerk.post(&format!("/api/v1/finance/entries/{rid}/post"), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    let booked = admin.post(&format!("/api/v1/finance/bank-lines/{sms}/book"), &json!({"account": "6603"})).await;
    assert_eq!(
        (booked.status, booked.json()["status"].clone()),
        (StatusCode::CREATED, json!("posted")),
        "{}",
        booked.body
    );
    assert_eq!(app.count("fin_bank_lines WHERE entry_id IS NULL").await, 0, "every line matched once");

    // With review on as well, a voucher that moves cash needs both signatures, in either
    // order, and one given does not put the other signer's page out of date.
    chief.patch("/api/v1/finance/settings", &json!({"review_vouchers": true})).await;
    let deposit = clerk
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-03-31", "库存现金存入银行", &[("1002", "5000.00", ""), ("1001", "", "5000.00")]),
        )
        .await
        .json();
    let did = deposit["id"].as_i64().expect("id");
    let read = deposit["version"].clone();
    cashier.post(&format!("/api/v1/finance/entries/{did}/cashier"), &json!({"version": read})).await;
    let unreviewed = clerk.post(&format!("/api/v1/finance/entries/{did}/post"), &json!({})).await;
    assert_eq!(unreviewed.json()["errors"][0]["code"], "error.finance.needs_review", "{}", unreviewed.body);
    let reviewed = chief.post(&format!("/api/v1/finance/entries/{did}/review"), &json!({"version": read})).await;
    assert_eq!(reviewed.status, StatusCode::OK, "{}", reviewed.body);
    let posted = clerk.post(&format!("/api/v1/finance/entries/{did}/post"), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    assert_eq!(
        (posted.json()["reviewed_by"].as_str(), posted.json()["cashier_by"].as_str()),
        (Some("qian.hui"), Some("wu.xia"))
    );

    // Under review, nobody books a statement line at once, not even the administrator who
    // holds every grant: no one reviews their own voucher, so the account fee waits as a
    // draft for a second person like any other.
    let fee = imported_lines(&chief, "日期,金额,摘要\n2026-03-31,-2.00,账户管理费\n").await[0]["id"].clone();
    let booked = admin.post(&format!("/api/v1/finance/bank-lines/{fee}/book"), &json!({"account": "6603"})).await;
    assert_eq!(
        (booked.status, booked.json()["status"].clone()),
        (StatusCode::CREATED, json!("draft")),
        "{}",
        booked.body
    );
    let id = booked.json()["entry_id"].clone();
    assert_eq!(
        clerk.get(&format!("/api/v1/finance/entries/{id}")).await.json()["cashier_by"],
        "系统管理员 Administrator"
    );
}

#[tokio::test]
async fn a_months_taxes_paid_by_the_accountant_wait_as_one_draft_for_the_cashier_and_the_chief() {
    let app = spawn_app().await;
    let Office { clerk, chief, cashier } = finance_office(&app).await;

    // March: 20,000.00 of goods sold at 13 %, 2,600.00 of output VAT, transferred to 未交增值税
    // with 7 % urban construction tax of 182.00; the month's small sales owe no education
    // surcharges. Then the chief accountant turns both signature rules on.
    let admin = app.api("admin").await;
    let shop = party(&admin, "苏州观前百货有限公司", "customer").await;
    posted_invoice(&admin, document("customer", shop, "2026-03-10", &[("台灯", "10", "2000.00", "13")])).await;
    let transferred = admin.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!(transferred.status, StatusCode::CREATED, "{}", transferred.body);
    chief.patch("/api/v1/finance/settings", &json!({"review_vouchers": true, "cashier_signs": true})).await;

    // April: the accountant pays March's 2,782.00 from the VAT page. She may not review her
    // own voucher nor sign as cashier, so the page opens a draft (付, unnumbered) paying it.
    app.clock.advance(chrono::Duration::days(31));
    let browser = app.signed_in("chen.jing").await;
    let march = "/finance/reports/vat?from=2026-03&to=2026-03";
    let paid = browser
        .post_form(
            march,
            "/finance/reports/vat/pay",
            &[("period", "2026-03"), ("date", "2026-04-15"), ("bank_account", "1002")],
        )
        .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.body);
    let draft: i64 = paid.header("location").and_then(|l| l.rsplit('/').next()?.parse().ok()).expect("the draft");
    let entry = clerk.get(&format!("/api/v1/finance/entries/{draft}")).await.json();
    assert_eq!((entry["status"].as_str(), entry["word"].as_str()), (Some("draft"), Some("付")), "{entry}");
    assert_eq!(entry["memo"], "缴纳 2026-03 增值税及附加税费");
    let lines: Vec<(String, String, String)> = entry["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| (l["account"].to_string(), l["debit"].to_string(), l["credit"].to_string()))
        .collect();
    assert_eq!(
        lines,
        [("222102", "2600.00", "0.00"), ("222104", "182.00", "0.00"), ("1002", "0.00", "2782.00")].map(|(a, d, c)| (
            format!("\"{a}\""),
            format!("\"{d}\""),
            format!("\"{c}\"")
        ))
    );

    // While it waits, the month's page names it instead of offering the payment again, and a
    // second payment is refused beside the day, even for the administrator who could post it
    // at once: the taxes would be paid twice.
    let page = browser.get(march).await;
    let form = page.body.split("id=\"tax-payment\"").nth(1).expect("the payment form");
    assert!(form.contains(&format!("/finance/entries/{draft}")) && form.contains(" disabled>"), "{form}");
    for payer in [&clerk, &admin] {
        let twice = payer.post("/api/v1/finance/periods/2026-03/tax-payment", &json!({"date": "2026-04-16"})).await;
        assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", twice.body);
        assert_eq!(
            (twice.json()["errors"][0]["field"].clone(), twice.json()["errors"][0]["code"].clone()),
            (json!("date"), json!("error.finance.tax_payment_drafted"))
        );
    }
    assert_eq!(app.count("fin_entries WHERE memo LIKE '缴纳 2026-03%'").await, 1, "one draft only");

    // The accountant typed the wrong day and deletes her draft; the cashier pays through the
    // API instead, and her draft comes signed by her.
    let deleted = clerk.call(Method::DELETE, &format!("/api/v1/finance/entries/{draft}"), None).await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    let hers = cashier.post("/api/v1/finance/periods/2026-03/tax-payment", &json!({"date": "2026-04-15"})).await;
    assert_eq!(hers.status, StatusCode::CREATED, "{}", hers.body);
    let hers = hers.json();
    assert_eq!((hers["status"].as_str(), hers["number"].clone()), (Some("draft"), Value::Null), "{hers}");
    assert_eq!(hers["paid"]["total"], "2782.00");
    let id = hers["entry_id"].as_i64().expect("the draft");
    assert_eq!(clerk.get(&format!("/api/v1/finance/entries/{id}")).await.json()["cashier_by"], "wu.xia");

    // Reviewed by the chief accountant and posted by the accountant, March is paid; asked
    // again, there is nothing left to pay.
    let unreviewed = clerk.post(&format!("/api/v1/finance/entries/{id}/post"), &json!({})).await;
    assert_eq!(unreviewed.json()["errors"][0]["code"], "error.finance.needs_review", "{}", unreviewed.body);
    let reviewed = chief.post(&format!("/api/v1/finance/entries/{id}/review"), &json!({})).await;
    assert_eq!(reviewed.status, StatusCode::OK, "{}", reviewed.body);
    let posted = clerk.post(&format!("/api/v1/finance/entries/{id}/post"), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    let vat = clerk.get("/api/v1/finance/reports/vat?from=2026-03&to=2026-03").await.json();
    assert_eq!(vat["to_pay"]["total"], "0.00", "{vat}");
    let again = clerk.post("/api/v1/finance/periods/2026-03/tax-payment", &json!({"date": "2026-04-20"})).await;
    assert_eq!((again.status, again.json()["entry_id"].clone()), (StatusCode::OK, Value::Null), "{}", again.body);
}
