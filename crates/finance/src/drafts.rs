//! Posting a draft voucher, with what follows from it outside the ledger: the statement line
//! it was booked from (`bank::book` for someone who could not post) is matched with it. The
//! ledger (`service`) and the bank reconciliation (`bank`) each keep their own half; this sits
//! above both, and the pages and the API post drafts through it.

use crate::{bank, service};
use db::{Result, Tx};
use kernel::permission::Principal;

/// Posts the draft `id` ([`service::post_entry`]: its signatures checked, its number given,
/// its lines added to the balance rows), then matches the statement line it was booked from,
/// if any ([`bank::match_posted_draft`]). Returns the voucher's number.
pub async fn post(tx: &mut Tx, principal: &Principal, id: i64) -> Result<String> {
    let number = service::post_entry(tx, principal, id).await?;
    bank::match_posted_draft(tx, principal.company_id.0, id).await?;
    Ok(number)
}
