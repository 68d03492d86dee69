//! What a fresh database needs before anyone can sign in: the first company, the built-in
//! roles and the administrator.

use db::{Actor, Db, Result, RowExt};
use kernel::{Grant, Scope};
use serde_json::json;
use web::accounts::{self, RoleForm, UserForm};

/// A built-in role: code, name, description and grants.
pub struct BuiltinRole {
    pub code: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub grants: &'static [(&'static str, Scope)],
}

/// The roles every site starts with; administrators can change their grants or add more.
pub const BUILTIN_ROLES: &[BuiltinRole] = &[
    BuiltinRole {
        code: "sales_rep",
        name: "销售代表 Sales representative",
        description: "Own customers, leads, opportunities, quotations and orders only",
        grants: &[
            ("party.party.read", Scope::Own),
            ("party.party.create", Scope::Own),
            ("party.party.update", Scope::Own),
            ("party.party.export", Scope::Own),
            ("catalog.product.read", Scope::Company),
            ("stock.move.read", Scope::Company),
            ("sales.order.read", Scope::Own),
            ("sales.order.manage", Scope::Own),
            ("crm.lead.read", Scope::Own),
            ("crm.lead.manage", Scope::Own),
            ("crm.opportunity.read", Scope::Own),
            ("crm.opportunity.manage", Scope::Own),
            ("crm.customer.read", Scope::Own),
        ],
    },
    BuiltinRole {
        code: "sales_manager",
        name: "销售经理 Sales manager",
        description:
            "The whole team's customers, leads, opportunities, quotations and orders; credit limits, CRM settings",
        grants: &[
            ("party.party.read", Scope::Team),
            ("party.party.create", Scope::Team),
            ("party.party.update", Scope::Team),
            ("party.party.export", Scope::Team),
            ("catalog.product.read", Scope::Company),
            ("stock.move.read", Scope::Company),
            ("sales.order.read", Scope::Team),
            ("sales.order.manage", Scope::Team),
            ("sales.credit.manage", Scope::Company),
            ("crm.lead.read", Scope::Team),
            ("crm.lead.manage", Scope::Team),
            ("crm.opportunity.read", Scope::Team),
            ("crm.opportunity.manage", Scope::Team),
            ("crm.customer.read", Scope::Team),
            ("crm.settings.manage", Scope::Company),
            ("crm.campaign.read", Scope::Company),
            ("crm.campaign.manage", Scope::Company),
            ("crm.ticket.read", Scope::Team),
            ("crm.ticket.manage", Scope::Team),
            ("crm.survey.read", Scope::Company),
        ],
    },
    BuiltinRole {
        code: "service_agent",
        name: "客服专员 Service agent",
        description: "Takes and works service tickets; reads customers' histories",
        grants: &[
            ("party.party.read", Scope::Company),
            ("catalog.product.read", Scope::Company),
            ("crm.customer.read", Scope::Company),
            ("crm.ticket.read", Scope::Own),
            ("crm.ticket.manage", Scope::Own),
            ("stock.move.read", Scope::Company),
            ("stock.move.create", Scope::Company),
        ],
    },
    BuiltinRole {
        code: "accountant",
        name: "会计 Accountant",
        description: "Reads every party of the company",
        grants: &[
            ("party.party.read", Scope::Company),
            ("party.party.export", Scope::Company),
            ("finance.account.manage", Scope::Company),
            ("finance.entry.read", Scope::Company),
            ("finance.entry.create", Scope::Company),
            ("finance.entry.post", Scope::Company),
            ("finance.report.read", Scope::Company),
            ("finance.period.close", Scope::Company),
            ("finance.invoice.read", Scope::Company),
            ("finance.invoice.manage", Scope::Company),
            ("finance.payment.manage", Scope::Company),
            ("catalog.product.read", Scope::Company),
            ("stock.move.read", Scope::Company),
        ],
    },
    BuiltinRole {
        code: "chief_accountant",
        name: "会计主管 Chief accountant",
        description: "What an accountant does, and reviews vouchers, closes and reopens months",
        grants: &[
            ("party.party.read", Scope::Company),
            ("party.party.export", Scope::Company),
            ("finance.account.manage", Scope::Company),
            ("finance.entry.read", Scope::Company),
            ("finance.entry.create", Scope::Company),
            ("finance.entry.post", Scope::Company),
            ("finance.entry.review", Scope::Company),
            ("finance.report.read", Scope::Company),
            ("finance.period.close", Scope::Company),
            ("finance.period.reopen", Scope::Company),
            ("finance.invoice.read", Scope::Company),
            ("finance.invoice.manage", Scope::Company),
            ("finance.payment.manage", Scope::Company),
            ("catalog.product.read", Scope::Company),
            ("stock.move.read", Scope::Company),
        ],
    },
    BuiltinRole {
        code: "cashier",
        name: "出纳 Cashier",
        description: "Records receipts and payments, reconciles the bank, signs the vouchers that move cash",
        grants: &[
            ("party.party.read", Scope::Company),
            ("finance.entry.read", Scope::Company),
            ("finance.entry.create", Scope::Company),
            ("finance.entry.sign_cash", Scope::Company),
            ("finance.invoice.read", Scope::Company),
            ("finance.payment.manage", Scope::Company),
        ],
    },
    BuiltinRole {
        code: "buyer",
        name: "采购员 Buyer",
        description: "Orders from suppliers, receives goods, records supplier bills",
        grants: &[
            ("party.party.read", Scope::Company),
            ("catalog.product.read", Scope::Company),
            ("stock.move.read", Scope::Company),
            ("stock.move.create", Scope::Company),
            ("purchase.order.read", Scope::Company),
            ("purchase.order.manage", Scope::Company),
            ("finance.invoice.read", Scope::Company),
            ("finance.invoice.manage", Scope::Company),
        ],
    },
    BuiltinRole {
        code: "purchase_manager",
        name: "采购经理 Purchasing manager",
        description: "Approves orders above the threshold and bills that do not match",
        grants: &[
            ("party.party.read", Scope::Company),
            ("catalog.product.read", Scope::Company),
            ("stock.move.read", Scope::Company),
            ("purchase.order.read", Scope::Company),
            ("purchase.order.approve", Scope::Company),
        ],
    },
    BuiltinRole {
        code: "hr_officer",
        name: "人事专员 HR officer",
        description: "Maintains persons and employees, reads pay and ID numbers, computes payroll",
        grants: &[
            ("party.party.read", Scope::Company),
            ("party.party.create", Scope::Company),
            ("party.party.update", Scope::Company),
            ("party.party.read_sensitive", Scope::Company),
            ("hr.employee.read", Scope::Company),
            ("hr.employee.manage", Scope::Company),
            ("hr.pay.read", Scope::Company),
            ("hr.plan.read", Scope::Company),
            ("hr.plan.manage", Scope::Company),
            ("hr.review.manage", Scope::Company),
            ("hr.training.manage", Scope::Company),
            ("hr.payroll.manage", Scope::Company),
        ],
    },
    BuiltinRole {
        code: "hr_manager",
        name: "人力资源经理 HR manager",
        description: "Everything HR does, approves requisitions (also beyond the plan) and posts payroll",
        grants: &[
            ("party.party.read", Scope::Company),
            ("party.party.create", Scope::Company),
            ("party.party.update", Scope::Company),
            ("party.party.read_sensitive", Scope::Company),
            ("hr.employee.read", Scope::Company),
            ("hr.employee.manage", Scope::Company),
            ("hr.pay.read", Scope::Company),
            ("hr.plan.read", Scope::Company),
            ("hr.plan.manage", Scope::Company),
            ("hr.requisition.approve", Scope::Company),
            ("hr.requisition.approve_beyond", Scope::Company),
            ("hr.review.manage", Scope::Company),
            ("hr.training.manage", Scope::Company),
            ("hr.payroll.manage", Scope::Company),
            ("hr.payroll.post", Scope::Company),
        ],
    },
    BuiltinRole {
        code: "line_manager",
        name: "部门经理 Line manager",
        description: "Reads the organisation and the plan, raises requisitions, approves those within the plan",
        grants: &[
            ("hr.employee.read", Scope::Company),
            ("hr.plan.read", Scope::Company),
            ("hr.plan.manage", Scope::Company),
            ("hr.requisition.approve", Scope::Company),
        ],
    },
    BuiltinRole {
        code: "auditor",
        name: "审计 Auditor",
        description: "Reads the audit log and every party",
        grants: &[
            ("web.audit.read", Scope::Company),
            ("party.party.read", Scope::Company),
            ("finance.entry.read", Scope::Company),
            ("finance.report.read", Scope::Company),
        ],
    },
    BuiltinRole {
        code: "user_admin",
        name: "用户管理员 User administrator",
        description: "Manages users, roles, tokens and webhooks",
        grants: &[
            ("web.user.manage", Scope::Company),
            ("web.role.manage", Scope::Company),
            ("web.token.manage", Scope::Company),
            ("web.webhook.manage", Scope::Company),
            ("web.audit.read", Scope::Company),
        ],
    },
];

/// The first company's details.
pub struct CompanySeed {
    pub legal_name: &'static str,
    pub short_name: &'static str,
    pub credit_code: Option<&'static str>,
}

pub const DEMO_COMPANY: CompanySeed =
    CompanySeed {
        legal_name: "中枢示范科技有限公司", short_name: "中枢示范", credit_code: Some("91350100M000100Y43")
    };

pub const DEFAULT_COMPANY: CompanySeed =
    CompanySeed { legal_name: "我的公司 My Company", short_name: "我的公司", credit_code: None };

/// The result of preparing a database.
pub struct Prepared {
    pub company_id: i64,
    /// The administrator's password if it was just generated (print it once).
    pub generated_admin_password: Option<String>,
    pub created_admin: bool,
}

/// Creates the first company, the built-in roles and the administrator, if missing.
pub async fn prepare(
    db: &Db,
    known_permissions: &[&str],
    company: &CompanySeed,
    admin_password: Option<String>,
) -> Result<Prepared> {
    let existing = sqlx::query("SELECT id FROM companies ORDER BY id LIMIT 1").fetch_optional(db.reader()).await?;
    let company_id = match existing {
        Some(row) => row.try_get("id")?,
        None => {
            let mut tx = db.begin(Actor::system()).await?;
            let now = tx.now().to_string();
            let id: i64 = sqlx::query("INSERT INTO companies (legal_name, short_name, credit_code, base_currency, time_zone, created_at) VALUES ($1, $2, $3, 'CNY', 'Asia/Shanghai', $4) RETURNING id")
                .bind(company.legal_name)
                .bind(company.short_name)
                .bind(company.credit_code)
                .bind(now)
                .fetch_one(tx.conn())
                .await?
                .try_get("id")?;
            tx.audit(
                "create",
                "web.company",
                Some(&id.to_string()),
                &json!({"legal_name": [null, company.legal_name], "credit_code": [null, company.credit_code]}),
            )
            .await?;
            tx.commit().await?;
            id
        }
    };
    for role in BUILTIN_ROLES {
        let exists =
            sqlx::query("SELECT 1 FROM roles WHERE code = $1").bind(role.code).fetch_optional(db.reader()).await?;
        if exists.is_none() {
            let mut tx = db.begin(Actor::system()).await?;
            let form = RoleForm {
                code: role.code.into(),
                name: role.name.into(),
                description: role.description.into(),
                grants: role.grants.iter().map(|(p, s)| Grant { permission: p.to_string(), scope: *s }).collect(),
            };
            accounts::create_role(&mut tx, known_permissions, &form).await?;
            tx.commit().await?;
        }
    }
    let admin = sqlx::query("SELECT id FROM users WHERE login = 'admin'").fetch_optional(db.reader()).await?;
    let mut generated = None;
    let created_admin = admin.is_none();
    if admin.is_none() {
        let password = match admin_password {
            Some(p) => p,
            None => {
                let p = accounts::random_hex(8);
                generated = Some(p.clone());
                p
            }
        };
        let mut tx = db.begin(Actor::system()).await?;
        let form = UserForm {
            login: "admin".into(),
            display_name: "系统管理员 Administrator".into(),
            password,
            is_admin: true,
            ..Default::default()
        };
        accounts::create_user(&mut tx, company_id, &form).await?;
        tx.commit().await?;
    }
    Ok(Prepared { company_id, generated_admin_password: generated, created_admin })
}
