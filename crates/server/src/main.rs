//! The `zhongshu` command. Configuration comes from flags, then `ZHONGSHU_*` environment
//! variables, then defaults.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "zhongshu", version, about = "中枢 Zhongshu: one system to run a company or a hospital")]
struct Cli {
    /// Database URL: `postgres://…` or `sqlite://…`; default an SQLite file in the data directory.
    #[arg(long, global = true, env = "ZHONGSHU_DATABASE_URL")]
    database_url: Option<String>,
    /// Where the embedded database lives.
    #[arg(long, global = true, env = "ZHONGSHU_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (migrations run first).
    Serve {
        #[arg(long, env = "ZHONGSHU_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Seed the demo company, users, parties, catalog and a year of trade.
        #[arg(long)]
        demo: bool,
        /// Mark cookies Secure (when served behind TLS).
        #[arg(long, env = "ZHONGSHU_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Served behind a reverse proxy that appends the client to X-Forwarded-For (rate
        /// limits of public forms then count that address, not the proxy's).
        #[arg(long, env = "ZHONGSHU_TRUSTED_PROXY")]
        trusted_proxy: bool,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Seed data.
    Seed {
        #[arg(long)]
        demo: bool,
        /// 300 parties per unit of scale.
        #[arg(long, default_value_t = 1)]
        scale: u64,
    },
    /// Write a consistent backup of the whole database to FILE (safe while serving).
    Backup { file: PathBuf },
    /// Restore FILE into an empty database (of either kind).
    Restore { file: PathBuf },
    /// Audit chain operations.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// User administration.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; exit 1 and name the first bad row if it was tampered with.
    Verify,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user in the first company.
    Add {
        login: String,
        #[arg(long)]
        name: String,
        #[arg(long, env = "ZHONGSHU_NEW_PASSWORD")]
        password: String,
        #[arg(long)]
        email: Option<String>,
        /// Role codes (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        #[arg(long)]
        admin: bool,
    },
    /// Set a user's password.
    Passwd {
        login: String,
        #[arg(long, env = "ZHONGSHU_NEW_PASSWORD")]
        password: String,
    },
    /// Set a user's roles (replaces the current ones).
    Role { login: String, roles: Vec<String> },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for USER and print it once.
    Create {
        user: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("ZHONGSHU_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logs();
    let url = server::run::database_url(cli.database_url.as_deref(), &cli.data_dir)?;
    use server::run;
    match cli.command {
        Command::Serve { addr, demo, secure_cookies, trusted_proxy } => {
            let db = run::open(&url).await?;
            run::prepare(&db, demo, 1).await?;
            run::serve(db, addr, web::WebConfig { secure_cookies, trusted_proxy }).await?;
        }
        Command::Migrate => {
            run::open(&url).await?;
            println!("Migrations are up to date.");
        }
        Command::Seed { demo, scale } => {
            let db = run::open(&url).await?;
            run::prepare(&db, demo, scale).await?;
        }
        Command::Backup { file } => {
            let db = run::open(&url).await?;
            run::backup(&db, &file).await?;
        }
        Command::Restore { file } => run::restore(&url, &file).await?,
        Command::Audit { command: AuditCommand::Verify } => {
            let db = run::open(&url).await?;
            if !run::audit_verify(&db).await? {
                std::process::exit(1);
            }
        }
        Command::User { command } => {
            let db = run::open(&url).await?;
            match command {
                UserCommand::Add { login, name, password, email, roles, admin } => {
                    let form = web::accounts::UserForm {
                        login,
                        display_name: name,
                        email,
                        password,
                        roles,
                        is_admin: admin,
                        ..Default::default()
                    };
                    run::user_add(&db, form).await?;
                }
                UserCommand::Passwd { login, password } => run::user_passwd(&db, &login, &password).await?,
                UserCommand::Role { login, roles } => run::user_role(&db, &login, roles).await?,
            }
        }
        Command::Token { command: TokenCommand::Create { user, name } } => {
            let db = run::open(&url).await?;
            run::token_create(&db, &user, &name).await?;
        }
    }
    Ok(())
}
