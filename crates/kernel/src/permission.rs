//! The permission model, and the one policy function every page, API route, export and
//! report calls.
//!
//! A role grants permissions named `module.resource.action` (`party.party.read`), each with a
//! record scope: the grant holder sees only their own records, their team's, their
//! department's, or the whole company's. A user's effective scope for a permission is the
//! widest scope any of their roles gives. Sensitive fields (a resident ID, a salary) have
//! their own permission; without it the field is masked.

use crate::error::DomainError;
use crate::ids::{CompanyId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// A permission name: `module.resource.action`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Permission(String);

impl Permission {
    /// Parses and checks the three-part form.
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        let parts: Vec<&str> = name.split('.').collect();
        let well_formed = parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()));
        if well_formed {
            Ok(Self(name.to_string()))
        } else {
            Err(DomainError::invalid("permission", "error.permission.malformed", name))
        }
    }

    /// For names written in code, which a test checks are well formed.
    pub const fn from_static(name: &'static str) -> PermissionName {
        PermissionName(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A permission named in code, declared by a module in its list of permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PermissionName(pub &'static str);

/// How many records a grant reaches. Ordered from narrowest to widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Own,
    Team,
    Department,
    Company,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Own, Scope::Team, Scope::Department, Scope::Company];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Own => "own",
            Scope::Team => "team",
            Scope::Department => "department",
            Scope::Company => "company",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One permission granted with a scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub permission: String,
    pub scope: Scope,
}

/// Who is acting: a signed-in user (or API token) in one of their companies, with the
/// grants of all their roles merged.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub login: String,
    pub company_id: CompanyId,
    pub team: Option<String>,
    pub department: Option<String>,
    /// Administrators hold every permission at company scope.
    pub is_admin: bool,
    grants: HashMap<String, Scope>,
}

/// Which rows of a resource a principal may see, for the store to turn into a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowFilter {
    /// Every row of the company.
    Company(CompanyId),
    /// Rows of the company owned by users of this department.
    Department(CompanyId, String),
    /// Rows of the company owned by users of this team.
    Team(CompanyId, String),
    /// Rows of the company owned by this user.
    Own(CompanyId, UserId),
}

impl Principal {
    pub fn new(
        user_id: UserId,
        login: String,
        company_id: CompanyId,
        team: Option<String>,
        department: Option<String>,
        is_admin: bool,
        grants: impl IntoIterator<Item = Grant>,
    ) -> Self {
        let mut merged: HashMap<String, Scope> = HashMap::new();
        for grant in grants {
            let entry = merged.entry(grant.permission).or_insert(grant.scope);
            if grant.scope > *entry {
                *entry = grant.scope;
            }
        }
        Self { user_id, login, company_id, team, department, is_admin, grants: merged }
    }

    /// The policy function: the scope with which this principal holds `permission`, or
    /// `Forbidden`. Pages, API routes, exports and reports all ask here.
    pub fn authorize(&self, permission: &str) -> Result<Scope, DomainError> {
        if self.is_admin {
            return Ok(Scope::Company);
        }
        self.grants.get(permission).copied().ok_or_else(|| DomainError::Forbidden(permission.to_string()))
    }

    /// Whether the permission is held at any scope (for showing a button or an unmasked field).
    pub fn may(&self, permission: &str) -> bool {
        self.authorize(permission).is_ok()
    }

    /// The rows a permission reaches, as a filter the store applies to its query.
    /// A team or department scope without a team or department falls back to own records.
    pub fn row_filter(&self, permission: &str) -> Result<RowFilter, DomainError> {
        let company = self.company_id;
        Ok(match self.authorize(permission)? {
            Scope::Company => RowFilter::Company(company),
            Scope::Department => match &self.department {
                Some(dept) => RowFilter::Department(company, dept.clone()),
                None => RowFilter::Own(company, self.user_id),
            },
            Scope::Team => match &self.team {
                Some(team) => RowFilter::Team(company, team.clone()),
                None => RowFilter::Own(company, self.user_id),
            },
            Scope::Own => RowFilter::Own(company, self.user_id),
        })
    }

    /// Checks one record against the filter, for operations on a single record.
    pub fn reaches(&self, permission: &str, owner: &RecordOwner) -> Result<(), DomainError> {
        let allowed = match self.row_filter(permission)? {
            RowFilter::Company(c) => owner.company_id == c,
            RowFilter::Department(c, d) => owner.company_id == c && owner.department.as_deref() == Some(d.as_str()),
            RowFilter::Team(c, t) => owner.company_id == c && owner.team.as_deref() == Some(t.as_str()),
            RowFilter::Own(c, u) => owner.company_id == c && owner.user_id == Some(u),
        };
        if allowed {
            Ok(())
        } else {
            Err(DomainError::Forbidden(permission.to_string()))
        }
    }

    /// The merged grants, sorted, for display.
    pub fn grants(&self) -> Vec<Grant> {
        let mut grants: Vec<Grant> =
            self.grants.iter().map(|(p, s)| Grant { permission: p.clone(), scope: *s }).collect();
        grants.sort_by(|a, b| a.permission.cmp(&b.permission));
        grants
    }
}

/// Who owns a record, for record rules: the company, the owning user and that user's team
/// and department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOwner {
    pub company_id: CompanyId,
    pub user_id: Option<UserId>,
    pub team: Option<String>,
    pub department: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sales_rep(grants: Vec<Grant>) -> Principal {
        Principal::new(
            UserId(7),
            "li.na".into(),
            CompanyId(1),
            Some("east".into()),
            Some("sales".into()),
            false,
            grants,
        )
    }

    #[test]
    fn the_widest_scope_of_all_roles_wins() {
        let p = sales_rep(vec![
            Grant { permission: "party.party.read".into(), scope: Scope::Own },
            Grant { permission: "party.party.read".into(), scope: Scope::Team },
        ]);
        assert_eq!(p.authorize("party.party.read"), Ok(Scope::Team));
        assert_eq!(p.row_filter("party.party.read"), Ok(RowFilter::Team(CompanyId(1), "east".into())));
        assert!(matches!(p.authorize("party.party.delete"), Err(DomainError::Forbidden(_))));
    }

    #[test]
    fn a_team_grant_reaches_team_records_and_no_others() {
        let p = sales_rep(vec![Grant { permission: "party.party.update".into(), scope: Scope::Team }]);
        let teammates = RecordOwner {
            company_id: CompanyId(1),
            user_id: Some(UserId(9)),
            team: Some("east".into()),
            department: Some("sales".into()),
        };
        let other_team = RecordOwner { team: Some("west".into()), ..teammates.clone() };
        let other_company = RecordOwner { company_id: CompanyId(2), ..teammates.clone() };
        assert!(p.reaches("party.party.update", &teammates).is_ok());
        assert!(p.reaches("party.party.update", &other_team).is_err());
        assert!(p.reaches("party.party.update", &other_company).is_err());
    }

    #[test]
    fn permission_names_have_three_lowercase_parts() {
        assert!(Permission::parse("party.party.read").is_ok());
        assert!(Permission::parse("party.read").is_err());
        assert!(Permission::parse("Party.party.read").is_err());
    }
}
