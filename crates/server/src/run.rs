//! Configuration and the commands: serve, migrate, seed, backup, restore, audit verify,
//! user and token administration.

use crate::bootstrap::{self, CompanySeed, DEFAULT_COMPANY, DEMO_COMPANY};
use db::{Actor, Db, DbConfig};
use kernel::Clock;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use web::accounts;

/// Where the database is: an explicit URL, or an SQLite file in the data directory.
pub fn database_url(explicit: Option<&str>, data_dir: &Path) -> anyhow::Result<String> {
    if let Some(url) = explicit {
        return Ok(url.to_string());
    }
    std::fs::create_dir_all(data_dir)?;
    Ok(format!("sqlite://{}?mode=rwc", data_dir.join("zhongshu.db").display()))
}

/// Connects and brings the schema up to date.
pub async fn open(url: &str) -> anyhow::Result<Db> {
    let db = Db::connect(&DbConfig::new(url), Clock::system()).await?;
    let modules = crate::modules();
    db::migrate::run(&db, &web::migrations(&modules)).await?;
    Ok(db)
}

fn known_permissions() -> Vec<&'static str> {
    crate::modules().iter().flat_map(|m| m.permissions.iter().copied()).collect()
}

/// Prepares the first company and administrator; with `demo`, seeds the demo data.
pub async fn prepare(db: &Db, demo: bool, scale: u64) -> anyhow::Result<()> {
    let company: &CompanySeed = if demo { &DEMO_COMPANY } else { &DEFAULT_COMPANY };
    let admin_password = std::env::var("ZHONGSHU_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .or_else(|| demo.then(|| crate::demo::DEMO_PASSWORD.to_string()));
    let prepared = bootstrap::prepare(db, &known_permissions(), company, admin_password).await?;
    if let Some(password) = prepared.generated_admin_password {
        println!("Created the administrator: login `admin`, password `{password}` (shown this once; change it after signing in).");
    } else if prepared.created_admin && demo {
        println!("Created the administrator: login `admin`, password `{}`.", crate::demo::DEMO_PASSWORD);
    }
    if demo {
        let made = crate::demo::seed(db, prepared.company_id, scale).await?;
        crate::demo::seed_catalog(db, prepared.company_id).await?;
        let employees = crate::demo::seed_hr(db, prepared.company_id).await?;
        if employees > 0 {
            println!("Seeded the organisation: {employees} employees in 8 departments.");
        }
        let vouchers = crate::demo::seed_year(db, prepared.company_id, crate::demo::DEMO_MONTHLY).await?;
        if vouchers > 0 {
            println!("Seeded a year of trade and bookkeeping: {vouchers} vouchers.");
        }
        let pipeline = crate::demo::seed_crm(db, prepared.company_id).await?;
        if pipeline > 0 {
            println!("Seeded the sales pipeline: {pipeline} leads and opportunities.");
        }
        if made > 0 {
            db.analyze().await?;
            println!("Seeded {made} demo parties; demo users sign in with password `{}`.", crate::demo::DEMO_PASSWORD);
        }
    }
    Ok(())
}

/// Runs the server until Ctrl-C or SIGTERM: HTTP, the event dispatcher and webhook sender.
pub async fn serve(db: Db, addr: SocketAddr, config: web::WebConfig) -> anyhow::Result<()> {
    let modules = crate::modules();
    let state = web::state(db.clone(), &modules, config);
    let app = web::app(state, &modules);
    let subscribers = web::subscribers(&modules);
    let worker = format!("{}-{}", std::process::id(), accounts::random_hex(4));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let dispatcher = tokio::spawn(dispatch_loop(db.clone(), subscribers, worker, stop_rx.clone()));
    let reach =
        web::webhooks::Reach { allow_private: std::env::var("ZHONGSHU_WEBHOOKS_PRIVATE").is_ok_and(|v| v == "1") };
    let sender = tokio::spawn(web::webhooks::send_loop(db.clone(), reach, stop_rx.clone()));
    let jobs = tokio::spawn(job_loop(db.clone(), web::jobs(&modules), stop_rx));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, database = db.dialect().name(), "listening");
    println!("Zhongshu is serving on http://{addr}");
    // The peer address reaches handlers (rate limits of public forms count it).
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    let _ = stop_tx.send(true);
    let _ = dispatcher.await;
    let _ = sender.await;
    let _ = jobs.await;
    db.close().await;
    Ok(())
}

async fn dispatch_loop(
    db: Db,
    subscribers: Vec<db::events::Subscriber>,
    worker: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let delivered = match db::events::dispatch_batch(&db, &subscribers, &worker).await {
            Ok(n) => n,
            Err(error) => {
                tracing::warn!(%error, "dispatcher");
                0
            }
        };
        if delivered == 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stop.changed() => return,
            }
        } else if *stop.borrow() {
            return;
        }
    }
}

/// Starts each periodic job when its interval has passed since it last started.
async fn job_loop(db: Db, jobs: Vec<db::jobs::Job>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut last: Vec<Option<std::time::Instant>> = vec![None; jobs.len()];
    loop {
        for (job, started) in jobs.iter().zip(last.iter_mut()) {
            if started.is_none_or(|at| at.elapsed() >= job.every) {
                *started = Some(std::time::Instant::now());
                db::jobs::run_all(&db, std::slice::from_ref(job)).await;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

/// `zhongshu backup FILE`.
pub async fn backup(db: &Db, file: &PathBuf) -> anyhow::Result<()> {
    let modules = crate::modules();
    let tmp = file.with_extension("partial");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    let counts = db::backup::backup(db, &web::migrations(&modules), &mut out).await?;
    std::io::Write::flush(&mut out)?;
    drop(out);
    // Only a complete backup gets the requested name.
    std::fs::rename(&tmp, file)?;
    let rows: u64 = counts.iter().map(|(_, n)| n).sum();
    println!("Backed up {rows} rows of {} tables to {}", counts.len(), file.display());
    Ok(())
}

/// `zhongshu restore FILE`.
pub async fn restore(url: &str, file: &PathBuf) -> anyhow::Result<()> {
    let db = Db::connect(&DbConfig::new(url), Clock::system()).await?;
    let modules = crate::modules();
    let input = std::io::BufReader::new(std::fs::File::open(file)?);
    let counts = db::backup::restore(&db, &web::migrations(&modules), input).await?;
    db.analyze().await?;
    let rows: u64 = counts.iter().map(|(_, n)| n).sum();
    println!("Restored {rows} rows of {} tables from {}", counts.len(), file.display());
    match db::audit::verify(&db).await? {
        db::audit::Verdict::Intact { rows, .. } => println!("Audit chain intact: {rows} rows."),
        db::audit::Verdict::Broken { seq, reason } => {
            anyhow::bail!("the restored audit chain is broken at row {seq}: {reason}")
        }
    }
    Ok(())
}

/// `zhongshu audit verify`: exit status 0 when intact, 1 when broken.
pub async fn audit_verify(db: &Db) -> anyhow::Result<bool> {
    match db::audit::verify(db).await? {
        db::audit::Verdict::Intact { rows, last_hash } => {
            println!("Audit chain intact: {rows} rows, last hash {last_hash}.");
            Ok(true)
        }
        db::audit::Verdict::Broken { seq, reason } => {
            println!("Audit chain BROKEN at row {seq}: {reason}.");
            Ok(false)
        }
    }
}

async fn first_company(db: &Db) -> anyhow::Result<i64> {
    use db::RowExt;
    let row = sqlx::query("SELECT id FROM companies ORDER BY id LIMIT 1")
        .fetch_optional(db.reader())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no company yet: run `zhongshu serve` or `zhongshu seed` once first"))?;
    Ok(row.try_get("id")?)
}

/// `zhongshu user add`.
pub async fn user_add(db: &Db, form: accounts::UserForm) -> anyhow::Result<()> {
    let company = first_company(db).await?;
    let mut tx = db.begin(Actor::system()).await?;
    let id = accounts::create_user(&mut tx, company, &form).await.map_err(explain)?;
    tx.commit().await?;
    println!("Created user {} (id {id}).", form.login);
    Ok(())
}

/// `zhongshu user passwd`.
pub async fn user_passwd(db: &Db, login: &str, password: &str) -> anyhow::Result<()> {
    let id = accounts::find_user_id(db, login).await.map_err(explain)?;
    let mut tx = db.begin(Actor::system()).await?;
    accounts::set_password(&mut tx, id, password).await.map_err(explain)?;
    tx.commit().await?;
    println!("Password of {login} changed; their sessions were ended.");
    Ok(())
}

/// `zhongshu user role LOGIN ROLE...`: sets the user's roles.
pub async fn user_role(db: &Db, login: &str, roles: Vec<String>) -> anyhow::Result<()> {
    let id = accounts::find_user_id(db, login).await.map_err(explain)?;
    let user = accounts::get_user(db, id).await?;
    let mut tx = db.begin(Actor::system()).await?;
    let update = accounts::UserUpdate { version: user.version, roles: Some(roles.clone()), ..Default::default() };
    accounts::update_user(&mut tx, id, &update).await.map_err(explain)?;
    tx.commit().await?;
    println!("Roles of {login}: {}", roles.join(", "));
    Ok(())
}

/// `zhongshu token create USER`: prints the new token once.
pub async fn token_create(db: &Db, login: &str, name: &str) -> anyhow::Result<()> {
    let id = accounts::find_user_id(db, login).await.map_err(explain)?;
    let mut tx = db.begin(Actor::system()).await?;
    let (_, secret) = accounts::create_token(&mut tx, id, name).await.map_err(explain)?;
    tx.commit().await?;
    println!("{secret}");
    eprintln!("This token is shown once. Use it as `Authorization: Bearer <token>`.");
    Ok(())
}

/// Turns a validation error into readable English for the terminal.
fn explain(error: db::Error) -> anyhow::Error {
    match error {
        db::Error::Domain(kernel::DomainError::Invalid(fields)) => {
            let messages = web::i18n::Messages::new(&[web::i18n::PLATFORM]);
            let lines: Vec<String> = fields
                .iter()
                .map(|f| format!("{}: {}", f.field, messages.format(kernel::Lang::En, f.key, &f.detail)))
                .collect();
            anyhow::anyhow!(lines.join("\n"))
        }
        db::Error::Domain(kernel::DomainError::NotFound(what)) => anyhow::anyhow!("no such {what}"),
        other => anyhow::anyhow!(other),
    }
}
