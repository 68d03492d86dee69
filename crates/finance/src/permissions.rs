//! The ledger's permissions, by the names roles grant. They stand apart from the services
//! that check them so that every part of the crate (the ledger, its cost centre and project
//! lists) can name them without depending on the others. Invoicing's are in `invoicing`.

pub const ACCOUNTS: &str = "finance.account.manage";
pub const READ: &str = "finance.entry.read";
pub const CREATE: &str = "finance.entry.create";
pub const POST: &str = "finance.entry.post";
/// Reviewing vouchers entered by hand before they are posted (凭证审核), where the company
/// asks for it.
pub const REVIEW: &str = "finance.entry.review";
/// Signing, as the cashier, vouchers entered by hand that move cash (出纳签字), where the
/// company asks for it.
pub const SIGN_CASH: &str = "finance.entry.sign_cash";
pub const REPORTS: &str = "finance.report.read";
pub const CLOSE: &str = "finance.period.close";
pub const REOPEN: &str = "finance.period.reopen";
