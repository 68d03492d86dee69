//! CRM rules without I/O: what a valid lead is, what the public form refuses as spam, whose
//! turn it is for the next lead, and how the pipeline forecast weighs an opportunity.

use kernel::error::Problems;
use kernel::DomainResult;
use serde::{Deserialize, Serialize};

/// Where a lead came from.
pub const SOURCES: [&str; 6] = ["manual", "web", "import", "referral", "event", "campaign"];
/// A lead's life: new → qualified → converted, or lost.
pub const LEAD_STATUSES: [&str; 4] = ["new", "qualified", "converted", "lost"];
/// What staff log.
pub const ACTIVITY_KINDS: [&str; 5] = ["call", "meeting", "email", "note", "task"];
/// The usual reasons a deal is lost (a reason may also be typed).
pub const LOST_REASONS: [&str; 5] = ["price", "competitor", "no_budget", "no_decision", "timing"];

/// A lead as entered by staff, an import row or the public form.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LeadForm {
    /// The person's name.
    pub name: String,
    #[serde(default)]
    pub organization: String,
    #[serde(default)]
    pub mobile: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub region: String,
    /// One of [`SOURCES`]; empty: `manual`.
    #[serde(default)]
    pub source: String,
    /// The campaign code it answered (utm_campaign), if any.
    #[serde(default)]
    pub campaign: String,
    #[serde(default)]
    pub message: String,
}

/// A checked lead: trimmed, the mobile and e-mail normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeadInput {
    pub name: String,
    pub organization: String,
    pub mobile: String,
    pub email: String,
    pub region: String,
    pub source: String,
    pub campaign: String,
    pub message: String,
}

fn limit(p: &mut Problems, field: &str, text: &str, max: usize) {
    if text.chars().count() > max {
        p.add(field, "error.too_long", max.to_string());
    }
}

/// Checks a lead: a name, and a way to reach the person (mobile or e-mail), each valid.
pub fn validate_lead(form: &LeadForm) -> DomainResult<LeadInput> {
    let mut p = Problems::default();
    let name = form.name.trim().to_string();
    if name.is_empty() {
        p.add("name", "error.required", "");
    }
    limit(&mut p, "name", &name, 100);
    limit(&mut p, "organization", form.organization.trim(), 200);
    limit(&mut p, "region", form.region.trim(), 50);
    limit(&mut p, "campaign", form.campaign.trim(), 50);
    limit(&mut p, "message", form.message.trim(), 2000);
    limit(&mut p, "email", form.email.trim(), 100);
    let mobile = match form.mobile.trim() {
        "" => String::new(),
        text => p.check(kernel::identifiers::mobile("mobile", text)).unwrap_or_default(),
    };
    let email = match form.email.trim() {
        "" => String::new(),
        text => p.check(kernel::identifiers::email("email", text)).unwrap_or_default(),
    };
    if form.mobile.trim().is_empty() && form.email.trim().is_empty() {
        p.add("mobile", "error.crm.no_contact", "");
    }
    let source = match form.source.trim() {
        "" => "manual".to_string(),
        s if SOURCES.contains(&s) => s.to_string(),
        other => {
            p.add("source", "error.crm.source", other);
            String::new()
        }
    };
    p.finish()?;
    Ok(LeadInput {
        name,
        organization: form.organization.trim().to_string(),
        mobile,
        email,
        region: form.region.trim().to_string(),
        source,
        // Campaign codes are kept in lower case, whatever case a link carries.
        campaign: form.campaign.trim().to_lowercase(),
        message: form.message.trim().to_string(),
    })
}

/// What the public form refuses before it looks any further: a filled honeypot field (a
/// field people never see, which robots fill in), or a message that is mostly links.
pub fn looks_like_spam(honeypot: &str, message: &str) -> bool {
    let links =
        message.matches("http://").count() + message.matches("https://").count() + message.matches("www.").count();
    !honeypot.trim().is_empty() || links > 2
}

/// Whose turn it is: the member after `last` in id order, wrapping round; the first when
/// nobody has had one yet (or `last` left the team).
pub fn next_in_turn(members: &[i64], last: Option<i64>) -> Option<i64> {
    let mut sorted = members.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    match last {
        Some(last) => sorted.iter().copied().find(|m| *m > last).or_else(|| sorted.first().copied()),
        None => sorted.first().copied(),
    }
}

/// An opportunity's weight in the forecast: its expected revenue (fen) times its stage's
/// probability (basis points), rounded half up to the fen.
pub fn weighted(expected: i64, probability_bp: i64) -> i64 {
    let product = i128::from(expected) * i128::from(probability_bp);
    i64::try_from((product + 5_000) / 10_000).unwrap_or(i64::MAX)
}

/// The stages a company starts with (name, English name, probability in basis points).
pub const DEFAULT_STAGES: [(&str, &str, i64); 5] = [
    ("初步接洽", "New", 1_000),
    ("需求确认", "Qualified", 3_000),
    ("方案报价", "Proposal", 6_000),
    ("商务谈判", "Negotiation", 8_000),
    ("赢单", "Won", 10_000),
];

/// Ticket priorities, lowest first.
pub const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
/// Ticket categories.
pub const CATEGORIES: [&str; 5] = ["question", "fault", "repair", "complaint", "delivery"];
/// A ticket's life: new → open ⇄ pending → resolved → closed (a resolved ticket may reopen).
pub const TICKET_STATUSES: [&str; 5] = ["new", "open", "pending", "resolved", "closed"];

/// The SLA targets a company starts with, per priority: (first response, resolution) in
/// business minutes.
pub const DEFAULT_SLA: [(&str, i64, i64); 4] =
    [("low", 8 * 60, 40 * 60), ("normal", 4 * 60, 24 * 60), ("high", 2 * 60, 8 * 60), ("urgent", 60, 4 * 60)];

/// Business hours: 09:00 to 18:00, Monday to Friday, China time.
pub const OPEN_MINUTE: u32 = 9 * 60;
pub const CLOSE_MINUTE: u32 = 18 * 60;

fn working_day(day: chrono::NaiveDate, holidays: &[chrono::NaiveDate]) -> bool {
    use chrono::Datelike;
    day.weekday().num_days_from_monday() < 5 && !holidays.contains(&day)
}

/// The local time `minutes` business minutes after `from`: counting only 09:00–18:00 on
/// working days (not weekends, not the company's holidays). A ticket raised on Sunday starts
/// its clock on Monday at 09:00.
pub fn add_business_minutes(
    from: chrono::NaiveDateTime,
    minutes: i64,
    holidays: &[chrono::NaiveDate],
) -> chrono::NaiveDateTime {
    use chrono::Timelike;
    let start_of = |day: chrono::NaiveDate| day.and_hms_opt(OPEN_MINUTE / 60, OPEN_MINUTE % 60, 0).unwrap_or_default();
    let mut at = from;
    let mut left = minutes.max(0);
    // A year of days is more than any target needs; the bound keeps a bad holiday list finite.
    for _ in 0..366 {
        let day = at.date();
        let minute = at.hour() * 60 + at.minute();
        if !working_day(day, holidays) || minute >= CLOSE_MINUTE {
            at = start_of(day + chrono::Duration::days(1));
            continue;
        }
        if minute < OPEN_MINUTE {
            at = start_of(day);
            continue;
        }
        let available = i64::from(CLOSE_MINUTE - minute);
        if left <= available {
            return at + chrono::Duration::minutes(left);
        }
        left -= available;
        at = start_of(day + chrono::Duration::days(1));
    }
    at
}

/// Net promoter score from 0–10 answers: the share of promoters (9–10) less the share of
/// detractors (0–6), in basis points (−10,000 to 10,000).
pub fn nps_bp(scores: &[i64]) -> Option<i64> {
    if scores.is_empty() {
        return None;
    }
    let promoters = scores.iter().filter(|s| **s >= 9).count() as i64;
    let detractors = scores.iter().filter(|s| **s <= 6).count() as i64;
    nps_of(promoters, detractors, scores.len() as i64)
}

/// `a / b` in basis points, rounded half away from zero (a loss rounds like a gain); None
/// when `b` is zero.
pub fn ratio_bp(a: i64, b: i64) -> Option<i64> {
    if b == 0 {
        return None;
    }
    let x = i128::from(a) * 10_000;
    let b = i128::from(b);
    let rounded = x.signum() * b.signum() * ((2 * x.abs() + b.abs()) / (2 * b.abs()));
    i64::try_from(rounded).ok()
}

/// Hundredths (basis points of a percentage, or CSAT ×100) as text with their sign:
/// −49 → "-0.49", 11504 → "115.04".
pub fn hundredths(v: i64) -> String {
    format!("{}{}.{:02}", if v < 0 { "-" } else { "" }, v.abs() / 100, v.abs() % 100)
}

/// Net promoter score from the counts of promoters, detractors and answers (basis points).
pub fn nps_of(promoters: i64, detractors: i64, answers: i64) -> Option<i64> {
    if answers <= 0 {
        return None;
    }
    // Rounded half away from zero, the same way for a negative score as for a positive one.
    let x = (promoters - detractors) * 10_000;
    Some(x.signum() * ((2 * x.abs() + answers) / (2 * answers)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lead_needs_a_name_and_a_way_to_reach_the_person() {
        let form = LeadForm { name: "  陈静 ".into(), mobile: "138 0013 8000".into(), ..Default::default() };
        let lead = validate_lead(&form).unwrap();
        assert_eq!((lead.name.as_str(), lead.mobile.as_str(), lead.source.as_str()), ("陈静", "13800138000", "manual"));
        let errors = match validate_lead(&LeadForm::default()) {
            Err(kernel::DomainError::Invalid(e)) => e.into_iter().map(|e| e.field).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(errors, ["name", "mobile"]);
    }

    #[test]
    fn robots_fill_the_hidden_field_or_send_links() {
        assert!(!looks_like_spam("", "请联系我，我们需要 20 台服务器"));
        assert!(looks_like_spam("http://spam.example", ""));
        assert!(looks_like_spam("", "https://a.example https://b.example www.c.example"));
    }

    #[test]
    fn leads_go_round_the_team_in_turn() {
        let team = [12, 7, 9];
        assert_eq!(next_in_turn(&team, None), Some(7));
        assert_eq!(next_in_turn(&team, Some(7)), Some(9));
        assert_eq!(next_in_turn(&team, Some(12)), Some(7));
        assert_eq!(next_in_turn(&team, Some(8)), Some(9), "someone who left the team");
        assert_eq!(next_in_turn(&[], Some(8)), None);
    }

    #[test]
    fn sla_clocks_run_only_in_business_hours() {
        let at = |d: &str| chrono::NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M").unwrap();
        // Sunday 10:00 + 4 business hours: Monday 13:00.
        assert_eq!(add_business_minutes(at("2026-03-15 10:00"), 240, &[]), at("2026-03-16 13:00"));
        // Friday 16:30 + 2 h: 90 minutes on Friday, 30 on Monday: 09:30.
        assert_eq!(add_business_minutes(at("2026-03-20 16:30"), 120, &[]), at("2026-03-23 09:30"));
        // 24 business hours from Monday 09:00: Wednesday 15:00 (9 h a day).
        assert_eq!(add_business_minutes(at("2026-03-16 09:00"), 24 * 60, &[]), at("2026-03-18 15:00"));
        // Qingming on Monday 6 April 2026 does not count: Friday 17:00 + 2 h is Tuesday 10:00.
        let qingming = chrono::NaiveDate::from_ymd_opt(2026, 4, 6).unwrap();
        assert_eq!(add_business_minutes(at("2026-04-03 17:00"), 120, &[qingming]), at("2026-04-07 10:00"));
        // Early morning waits for the opening.
        assert_eq!(add_business_minutes(at("2026-03-16 07:45"), 30, &[]), at("2026-03-16 09:30"));
    }

    #[test]
    fn losses_round_and_print_like_gains() {
        assert_eq!(ratio_bp(0 - 5_000, 5_000), Some(-10_000)); // no revenue on a budget: −100 %
        assert_eq!(ratio_bp(-1, 200), Some(-50));
        assert_eq!(ratio_bp(1, 0), None);
        assert_eq!(
            (hundredths(-49), hundredths(11_504), hundredths(0)),
            ("-0.49".into(), "115.04".into(), "0.00".into())
        );
    }

    #[test]
    fn nps_is_promoters_less_detractors() {
        assert_eq!(nps_bp(&[10, 9, 8, 7, 3]), Some(2_000)); // 2 promoters, 1 detractor of 5
        assert_eq!(nps_bp(&[0]), Some(-10_000));
        assert_eq!(nps_bp(&[]), None);
    }

    #[test]
    fn a_deal_of_120_000_at_60_percent_weighs_72_000() {
        assert_eq!(weighted(12_000_000, 6_000), 7_200_000);
        assert_eq!(weighted(1, 5_000), 1, "half a fen rounds up");
    }
}
