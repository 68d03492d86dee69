//! The platform tables under stress and attack: the audit chain against tampering, gapless
//! numbers under concurrency, event delivery that is ordered and idempotent, and backups
//! that move between SQLite and PostgreSQL.

use db::events::{Event, HandlerFuture, Subscriber};
use db::{Actor, Db, DbConfig, RowExt, Tx};
use kernel::Clock;
use serde_json::json;
use std::collections::BTreeSet;
use testkit::{on_postgres, spawn_app};

async fn write_audit_rows(db: &Db, n: usize) {
    for i in 0..n {
        let mut tx = db.begin(Actor::user(1, "admin", 1)).await.expect("begin");
        tx.audit("update", "party.party", Some(&i.to_string()), &json!({"name": ["旧", format!("新{i}")]}))
            .await
            .expect("audit");
        tx.commit().await.expect("commit");
    }
}

async fn verdict(db: &Db) -> db::audit::Verdict {
    db::audit::verify(db).await.expect("verify")
}

#[tokio::test]
async fn an_edited_row_is_named_by_its_sequence_number() {
    let app = spawn_app().await;
    write_audit_rows(&app.db, 5).await;
    let db::audit::Verdict::Intact { rows, .. } = verdict(&app.db).await else { panic!("intact at first") };
    let target = rows - 2;
    let mut tx = app.db.begin(Actor::system()).await.expect("begin");
    sqlx::query("UPDATE audit_log SET changes = '{\"name\":[\"旧\",\"篡改\"]}' WHERE seq = $1")
        .bind(target)
        .execute(tx.conn())
        .await
        .expect("tamper");
    tx.commit().await.expect("commit");
    match verdict(&app.db).await {
        db::audit::Verdict::Broken { seq, reason } => {
            assert_eq!(seq, target);
            assert!(reason.contains("edited"), "{reason}");
        }
        intact => panic!("tampering went unnoticed: {intact:?}"),
    }
}

#[tokio::test]
async fn a_deleted_row_and_a_forged_row_are_both_found() {
    let app = spawn_app().await;
    write_audit_rows(&app.db, 4).await;
    let db::audit::Verdict::Intact { rows, .. } = verdict(&app.db).await else { panic!("intact at first") };
    let mut tx = app.db.begin(Actor::system()).await.expect("begin");
    sqlx::query("DELETE FROM audit_log WHERE seq = 2").execute(tx.conn()).await.expect("delete");
    tx.commit().await.expect("commit");
    assert!(matches!(verdict(&app.db).await, db::audit::Verdict::Broken { seq: 2, .. }));

    let other = spawn_app().await;
    write_audit_rows(&other.db, 2).await;
    // A forger appends a well-formed row but cannot move the head in the same breath unnoticed.
    let last = sqlx::query("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_one(other.db.reader())
        .await
        .expect("last");
    let prev: String = last.try_get("hash").expect("hash");
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM audit_log")
        .fetch_one(other.db.reader())
        .await
        .expect("n")
        .try_get("n")
        .expect("n");
    let record = kernel::audit::AuditRecord {
        seq: count + 1,
        at: "2026-03-15T02:00:00.000000Z".into(),
        company_id: Some(1),
        actor_id: Some(1),
        actor: "admin".into(),
        action: "delete".into(),
        resource: "party.party".into(),
        resource_id: Some("1".into()),
        changes: "{}".into(),
        prev_hash: prev,
    };
    let hash = kernel::audit::chain_hash(&record);
    let mut tx = other.db.begin(Actor::system()).await.expect("begin");
    sqlx::query("INSERT INTO audit_log (seq, at, company_id, actor_id, actor, action, resource, resource_id, changes, prev_hash, hash) VALUES ($1, $2, 1, 1, 'admin', 'delete', 'party.party', '1', '{}', $3, $4)")
        .bind(record.seq)
        .bind(&record.at)
        .bind(&record.prev_hash)
        .bind(&hash)
        .execute(tx.conn())
        .await
        .expect("forge");
    tx.commit().await.expect("commit");
    assert!(
        matches!(verdict(&other.db).await, db::audit::Verdict::Broken { .. }),
        "a row added behind the head's back is found"
    );
    let _ = rows;
}

#[tokio::test]
async fn a_transaction_cut_off_midway_leaves_no_trace_and_the_chain_intact() {
    let app = spawn_app().await;
    write_audit_rows(&app.db, 2).await;
    let before: i64 = sqlx::query("SELECT COUNT(*) AS n FROM audit_log")
        .fetch_one(app.db.reader())
        .await
        .expect("n")
        .try_get("n")
        .expect("n");
    {
        let mut tx = app.db.begin(Actor::user(1, "admin", 1)).await.expect("begin");
        tx.audit("create", "party.party", Some("9"), &json!({"name": [null, "半途"]})).await.expect("audit");
        tx.emit("party", "9", "party.PartyCreated", &json!({})).await.expect("emit");
        tx.next_number(1, "party", 2026, "PTY/{year}/{seq:06}").await.expect("number");
        // The process dies here: the transaction is dropped without commit.
    }
    let after: i64 = sqlx::query("SELECT COUNT(*) AS n FROM audit_log")
        .fetch_one(app.db.reader())
        .await
        .expect("n")
        .try_get("n")
        .expect("n");
    assert_eq!(after, before);
    assert_eq!(app.count("outbox").await, 0);
    assert!(matches!(verdict(&app.db).await, db::audit::Verdict::Intact { .. }));
    let mut tx = app.db.begin(Actor::system()).await.expect("begin");
    assert_eq!(
        tx.next_number(1, "party", 2026, "PTY/{year}/{seq:06}").await.expect("number"),
        "PTY/2026/000001",
        "the number was not used up"
    );
}

#[tokio::test]
async fn fifty_concurrent_postings_take_gapless_distinct_numbers() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let db = app.db.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = db.begin(Actor::system()).await.expect("begin");
            let number = tx.next_number(1, "voucher", 2026, "记-{year}-{seq:04}").await.expect("number");
            tx.audit("create", "test.voucher", Some(&number), &json!({})).await.expect("audit");
            tokio::task::yield_now().await;
            if i % 5 == 4 {
                // Every fifth posting fails after taking its number.
                drop(tx);
                None
            } else {
                tx.commit().await.expect("commit");
                Some(number)
            }
        }));
    }
    let mut taken = BTreeSet::new();
    for task in tasks {
        if let Some(number) = task.await.expect("task") {
            assert!(taken.insert(number.clone()), "{number} was taken twice");
        }
    }
    let expected: BTreeSet<String> = (1..=40).map(|n| format!("记-2026-{n:04}")).collect();
    assert_eq!(taken, expected, "forty commits, numbers 1 to 40, no gap");
    assert!(matches!(verdict(&app.db).await, db::audit::Verdict::Intact { rows: _, .. }));
}

/// What a transaction's statements read and write, as any module relies on: several statements
/// in one text (SQLite), a statement run again with other
/// values (on SQLite the write connection keeps it prepared), empty and Chinese text, large
/// numbers, a duplicate refused as a duplicate, and more statement texts than the connection
/// keeps prepared at once.
#[tokio::test]
async fn a_transaction_reads_back_what_it_wrote_and_a_duplicate_is_refused_as_one() {
    let app = spawn_app().await;
    let mut tx = app.db.begin(Actor::system()).await.expect("begin");
    let insert = |code: &str, year: i64, next: i64| {
        db::SqlBuilder::with_values(
            "INSERT INTO sequences (company_id, code, year, next_value) VALUES (1, $1, $2, $3)",
            vec![code.into(), year.into(), next.into()],
        )
    };
    if tx.dialect() == db::Dialect::Sqlite {
        // SQLite also takes several statements as one text, each naming its values by number.
        sqlx::query(
            "INSERT INTO sequences (company_id, code, year, next_value) VALUES (1, $1, $2, $3); \
             INSERT INTO sequences (company_id, code, year, next_value) VALUES (1, $4, $5, $6)",
        )
        .bind("发票")
        .bind(2026i64)
        .bind(9_007_199_254_740_993i64)
        .bind("")
        .bind(2027i64)
        .bind(2i64)
        .execute(tx.conn())
        .await
        .expect("two inserts in one text");
    } else {
        tx.execute_all(&[insert("发票", 2026, 9_007_199_254_740_993), insert("", 2027, 2)]).await.expect("two inserts");
    }
    let read = "SELECT code, next_value, NULL AS missing FROM sequences WHERE company_id = 1 AND year = $1";
    let row = sqlx::query(read).bind(2026i64).fetch_one(tx.conn()).await.expect("2026");
    assert_eq!(row.try_get::<String, _>("code").expect("code"), "发票");
    assert_eq!(row.try_get::<i64, _>("next_value").expect("next"), 9_007_199_254_740_993);
    assert_eq!(row.try_get::<Option<i64>, _>("missing").expect("missing"), None);
    let row = sqlx::query(read).bind(2027i64).fetch_one(tx.conn()).await.expect("2027");
    assert_eq!(row.try_get::<String, _>("code").expect("code"), "");
    assert!(sqlx::query(read).bind(2028i64).fetch_optional(tx.conn()).await.expect("2028").is_none());

    // More distinct texts than are kept prepared, then the first again.
    for n in 0..450i64 {
        let sum: i64 = sqlx::query(&format!("SELECT next_value + {n} AS sum FROM sequences WHERE year = $1"))
            .bind(2027i64)
            .fetch_one(tx.conn())
            .await
            .expect("sum")
            .try_get("sum")
            .expect("sum");
        assert_eq!(sum, 2 + n);
    }
    let row = sqlx::query(read).bind(2026i64).fetch_one(tx.conn()).await.expect("2026 again");
    assert_eq!(row.try_get::<String, _>("code").expect("code"), "发票");
    tx.commit().await.expect("commit");

    let mut tx = app.db.begin(Actor::system()).await.expect("begin");
    let duplicate = tx.execute(insert("发票", 2026, 1).build()).await.expect_err("the same sequence twice");
    assert!(duplicate.is_unique_violation(), "{duplicate}");
    drop(tx);
    let stored: Vec<(String, i64)> =
        sqlx::query("SELECT code, next_value FROM sequences WHERE company_id = 1 AND year >= 2026 ORDER BY year")
            .fetch_all(app.db.reader())
            .await
            .expect("stored")
            .iter()
            .map(|row| (row.try_get("code").expect("code"), row.try_get("next_value").expect("next")))
            .collect();
    assert_eq!(stored, vec![("发票".to_string(), 9_007_199_254_740_993), (String::new(), 2)]);
}

/// A long operation does not keep the other tasks of its thread waiting until it commits, even
/// though on SQLite none of its statements waits for anything: on a runtime of one thread, a
/// task spawned after a transaction of five hundred statements gets its turn before the last.
#[tokio::test]
async fn a_long_transaction_lets_the_other_tasks_of_its_thread_run_midway() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let app = spawn_app().await;
    let other_ran = std::sync::Arc::new(AtomicBool::new(false));
    let long = {
        let (db, other_ran) = (app.db.clone(), other_ran.clone());
        tokio::spawn(async move {
            let mut tx = db.begin(Actor::system()).await.expect("begin");
            for n in 0..500i64 {
                if other_ran.load(Ordering::SeqCst) {
                    return Some(n);
                }
                sqlx::query("SELECT $1 AS n").bind(n).fetch_one(tx.conn()).await.expect("select");
            }
            None
        })
    };
    let other = tokio::spawn(async move { other_ran.store(true, Ordering::SeqCst) });
    let seen_at = long.await.expect("long");
    other.await.expect("other");
    assert!(seen_at.is_some(), "the other task waited for all five hundred statements");
}

/// Another process holding SQLite's write lock (a command-line operation, say) makes a writer
/// wait, not fail, and the wait does not hold the runtime thread: on a runtime of one thread,
/// the task that lets the lock go gets its turn while the writer waits for it. A text may also
/// create a table and fill it, each statement prepared when its turn comes.
#[tokio::test]
async fn a_writer_waits_for_another_process_holding_the_lock_without_holding_its_thread() {
    use sqlx::Connection;
    if on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let mut other = sqlx::SqliteConnection::connect(&app.url).await.expect("another connection");
    sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.expect("the other takes the lock");
    let release = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        sqlx::query("COMMIT").execute(&mut other).await.expect("the other lets go");
    });
    let mut tx = app.db.begin(Actor::system()).await.expect("the writer gets the lock after the other");
    release.await.expect("release");
    sqlx::query("CREATE TABLE filled (n INTEGER); INSERT INTO filled (n) VALUES (7), (8)")
        .execute(tx.conn())
        .await
        .expect("a table created and filled in one text");
    tx.commit().await.expect("commit");
    assert_eq!(app.count("filled").await, 2);
}

fn record<'a>(tx: &'a mut Tx, event: &'a Event) -> HandlerFuture<'a> {
    Box::pin(async move { tx.audit("read", "test.seen", Some(&event.aggregate_id), &json!({"event": event.id})).await })
}

const RECORDER: Subscriber =
    Subscriber { name: "test.recorder", event_types: &["party.PartyCreated", "party.PartyUpdated"], handle: record };

async fn seen(db: &Db) -> Vec<(String, i64)> {
    sqlx::query("SELECT resource_id, changes FROM audit_log WHERE resource = 'test.seen' ORDER BY seq")
        .fetch_all(db.reader())
        .await
        .expect("rows")
        .iter()
        .map(|r| {
            let changes: String = r.try_get("changes").expect("changes");
            let value: serde_json::Value = serde_json::from_str(&changes).expect("json");
            (r.try_get("resource_id").expect("id"), value["event"].as_i64().expect("event"))
        })
        .collect()
}

#[tokio::test]
async fn events_reach_subscribers_once_in_order_per_aggregate_even_with_two_dispatchers() {
    let app = spawn_app().await;
    for round in 0..3 {
        for aggregate in ["1", "2", "3"] {
            let mut tx = app.db.begin(Actor::user(1, "admin", 1)).await.expect("begin");
            let kind = if round == 0 { "party.PartyCreated" } else { "party.PartyUpdated" };
            tx.emit("party", aggregate, kind, &json!({"round": round})).await.expect("emit");
            tx.commit().await.expect("commit");
        }
    }
    let subscribers = [RECORDER];
    let mut total = 0;
    for _ in 0..10 {
        let (a, b) = tokio::join!(
            db::events::dispatch_batch(&app.db, &subscribers, "dispatcher-a"),
            db::events::dispatch_batch(&app.db, &subscribers, "dispatcher-b")
        );
        total += a.expect("a") + b.expect("b");
    }
    assert_eq!(total, 9, "every event dispatched exactly once");
    let deliveries = seen(&app.db).await;
    assert_eq!(deliveries.len(), 9);
    for aggregate in ["1", "2", "3"] {
        let ids: Vec<i64> = deliveries.iter().filter(|(a, _)| a == aggregate).map(|(_, e)| *e).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "events of aggregate {aggregate} arrive in order");
    }
    // A redelivery (a dispatcher died after the subscriber ran) changes nothing.
    let mut tx = app.db.begin(Actor::system()).await.expect("begin");
    sqlx::query("UPDATE outbox SET dispatched_at = NULL, claimed_until = NULL")
        .execute(tx.conn())
        .await
        .expect("reset");
    tx.commit().await.expect("commit");
    for _ in 0..4 {
        db::events::dispatch_batch(&app.db, &subscribers, "dispatcher-a").await.expect("redeliver");
    }
    assert_eq!(seen(&app.db).await.len(), 9, "idempotent by event id");
}

async fn seed_some_work(app: &testkit::TestApp) {
    let api = app.api("admin").await;
    for (name, mobile) in
        [("北京华信科技有限公司", "13800138000"), ("上海瑞丰贸易有限公司", "13900139000"), ("张伟", "13700137000")]
    {
        let kind = if name.ends_with("公司") { "organization" } else { "person" };
        let response = api.post("/api/v1/parties", &json!({"kind": kind, "name": name, "roles": ["customer"], "tags": ["华东"], "contacts": [{"kind": "mobile", "value": mobile}]})).await;
        assert_eq!(response.status.as_u16(), 201, "{}", response.body);
    }
}

async fn table_counts(db: &Db) -> Vec<(String, i64)> {
    let modules = server::modules();
    let mut counts = Vec::new();
    for table in db::backup::tables(&web::migrations(&modules)) {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(db.reader())
            .await
            .expect("count")
            .try_get("n")
            .expect("n");
        counts.push((table, n));
    }
    counts
}

async fn round_trip(source: &Db, target_url: &str) {
    let modules = server::modules();
    let migrations = web::migrations(&modules);
    let mut file = Vec::new();
    db::backup::backup(source, &migrations, &mut file).await.expect("backup");
    let target = Db::connect(&DbConfig::new(target_url), Clock::system()).await.expect("connect target");
    db::backup::restore(&target, &migrations, std::io::Cursor::new(&file)).await.expect("restore");
    assert_eq!(table_counts(&target).await, table_counts(source).await, "same rows in every table");
    match db::audit::verify(&target).await.expect("verify") {
        db::audit::Verdict::Intact { rows, last_hash } => {
            let db::audit::Verdict::Intact { rows: source_rows, last_hash: source_hash } =
                db::audit::verify(source).await.expect("verify")
            else {
                panic!("source broken")
            };
            assert_eq!((rows, last_hash), (source_rows, source_hash), "the restored chain is the same chain");
        }
        broken => panic!("{broken:?}"),
    }
    // The restored site keeps working: the next party continues the numbering and ids.
    let restored = sqlx::query("SELECT name FROM parties ORDER BY id").fetch_all(target.reader()).await.expect("names");
    assert_eq!(restored.len(), 3);
    let mut tx = target.begin(Actor::user(1, "admin", 1)).await.expect("begin");
    let year = 2026;
    assert_eq!(tx.next_number(1, "party", year, "PTY/{year}/{seq:06}").await.expect("number"), "PTY/2026/000004");
    let id: i64 = sqlx::query("INSERT INTO outbox (company_id, aggregate, aggregate_id, event_type, payload, created_at) VALUES (1, 'x', '1', 'x', '{}', 'now') RETURNING id")
        .fetch_one(tx.conn())
        .await
        .expect("insert after restore")
        .try_get("id")
        .expect("id");
    assert!(id > 3, "identity columns continue after the restored ids");
    drop(tx);
    // A second restore into the now non-empty database is refused.
    let refused = db::backup::restore(&target, &migrations, std::io::Cursor::new(&file)).await;
    assert!(matches!(refused, Err(db::Error::Domain(kernel::DomainError::Conflict(_)))), "{refused:?}");
}

#[tokio::test]
async fn a_backup_restores_into_a_fresh_database_of_either_kind_with_the_chain_intact() {
    let app = spawn_app().await;
    seed_some_work(&app).await;
    let (sqlite_url, dir) = testkit::fresh_sqlite();
    round_trip(&app.db, &sqlite_url).await;
    let _ = std::fs::remove_dir_all(dir);
    if on_postgres() {
        // From SQLite to PostgreSQL, the way a site moves up.
        let (pg_url, _) = testkit::fresh_database().await;
        let sqlite_source = Db::connect(&DbConfig::new(&sqlite_url_with_data(&app).await), Clock::system())
            .await
            .expect("sqlite source");
        round_trip(&sqlite_source, &pg_url).await;
    }
}

/// A copy of the app's data on SQLite (when the suite runs on PostgreSQL).
async fn sqlite_url_with_data(app: &testkit::TestApp) -> String {
    let (url, _dir) = testkit::fresh_sqlite();
    let modules = server::modules();
    let migrations = web::migrations(&modules);
    let mut file = Vec::new();
    db::backup::backup(&app.db, &migrations, &mut file).await.expect("backup");
    let target = Db::connect(&DbConfig::new(&url), Clock::system()).await.expect("connect");
    db::backup::restore(&target, &migrations, std::io::Cursor::new(&file)).await.expect("restore");
    target.close().await;
    url
}

#[tokio::test]
async fn a_truncated_or_foreign_backup_is_refused_and_restores_nothing() {
    let app = spawn_app().await;
    seed_some_work(&app).await;
    let modules = server::modules();
    let migrations = web::migrations(&modules);
    let mut file = Vec::new();
    db::backup::backup(&app.db, &migrations, &mut file).await.expect("backup");
    let text = String::from_utf8(file).expect("utf-8");
    let truncated: String = text.lines().take(text.lines().count() - 5).map(|l| format!("{l}\n")).collect();
    let (url, dir) = testkit::fresh_sqlite();
    let target = Db::connect(&DbConfig::new(&url), Clock::system()).await.expect("connect");
    assert!(db::backup::restore(&target, &migrations, std::io::Cursor::new(truncated.as_bytes())).await.is_err());
    let users: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(target.reader())
        .await
        .expect("n")
        .try_get("n")
        .expect("n");
    assert_eq!(users, 0, "nothing was half-restored");
    assert!(db::backup::restore(&target, &migrations, std::io::Cursor::new(b"{\"format\":\"other\"}\n".as_slice()))
        .await
        .is_err());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_backup_naming_columns_the_table_does_not_have_is_refused() {
    let app = spawn_app().await;
    seed_some_work(&app).await;
    let modules = server::modules();
    let migrations = web::migrations(&modules);
    let mut file = Vec::new();
    db::backup::backup(&app.db, &migrations, &mut file).await.expect("backup");
    let text = String::from_utf8(file).expect("utf-8");
    let forged = text.replacen(
        "\"columns\":[\"id\",\"legal_name\"",
        "\"columns\":[\"id\",\"legal_name) VALUES (1,'x'); DROP TABLE users; --\"",
        1,
    );
    assert_ne!(forged, text, "the forgery applies");
    let (url, dir) = testkit::fresh_sqlite();
    let target = Db::connect(&DbConfig::new(&url), Clock::system()).await.expect("connect");
    let refused = db::backup::restore(&target, &migrations, std::io::Cursor::new(forged.as_bytes())).await;
    assert!(refused.is_err());
    let users: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(target.reader())
        .await
        .expect("users table still there")
        .try_get("n")
        .expect("n");
    assert_eq!(users, 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn committed_pages_reach_the_sqlite_file_without_a_commit_copying_them() {
    // A thousand audit rows with long changes make a write-ahead log of a few hundred pages:
    // below the size at which a committing writer checkpoints by itself, so only the
    // background checkpoint can bring them into the database file.
    let (url, dir) = testkit::fresh_sqlite();
    let db =
        Db::connect(&DbConfig { url, max_connections: 4 }, Clock::fixed(testkit::test_start())).await.expect("connect");
    db::migrate::run(&db, &db::platform_migrations()).await.expect("migrations");
    let file = dir.join("test.db");
    let before = std::fs::metadata(&file).expect("database file").len();
    for batch in 0..10 {
        let mut tx = db.begin(Actor::system()).await.expect("begin");
        for i in 0..100 {
            let note = format!("入库单 {batch}-{i}: {}", "明细".repeat(200));
            tx.audit("create", "test.note", Some(&format!("{batch}-{i}")), &json!({ "note": [null, note] }))
                .await
                .expect("audit");
        }
        tx.commit().await.expect("commit");
    }
    let mut grown = 0;
    for _ in 0..100 {
        grown = std::fs::metadata(&file).expect("database file").len().saturating_sub(before);
        if grown > 1_000_000 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(grown > 1_000_000, "the database file grew by {grown} bytes only");
    let verdict = verdict(&db).await;
    assert!(matches!(verdict, db::audit::Verdict::Intact { rows: 1000, .. }), "{verdict:?}");
    db.close().await;
    std::fs::remove_dir_all(dir).ok();
}
