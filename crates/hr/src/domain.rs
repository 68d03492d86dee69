//! HR's rules without I/O: individual income tax by cumulative withholding and on the
//! separately taxed annual bonus, social insurance and housing fund by a city's rule, the
//! rating table that turns a performance rating into a share of the target bonus, and the
//! small formula language salary components are written in.
//!
//! Money is in fen (`i64`) throughout; rates are in basis points (1 % = 100 bp). Every rounding
//! is to the fen, half away from zero, and happens where the rule says it does.

use kernel::DomainError;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::HashMap;

/// Rounds a decimal amount of fen to whole fen, half away from zero.
pub fn to_fen(amount: Decimal) -> i64 {
    amount.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero).to_i64().unwrap_or(i64::MAX)
}

/// `amount × rate` for a rate in basis points, rounded to the fen.
pub fn share(amount: i64, rate_bp: i64) -> i64 {
    to_fen(Decimal::from(amount) * Decimal::from(rate_bp) / Decimal::from(10_000))
}

// ---- Individual income tax (综合所得, 累计预扣法) ----

/// The monthly basic deduction (基本减除费用), 5,000 yuan.
pub const BASIC_DEDUCTION: i64 = 500_000;

/// The annual table for cumulative withholding: (upper bound of cumulative taxable income in
/// fen, rate in bp, quick deduction in fen); the last bracket has no bound.
pub const CUMULATIVE_BRACKETS: [(i64, i64, i64); 7] = [
    (3_600_000, 300, 0),
    (14_400_000, 1_000, 252_000),
    (30_000_000, 2_000, 1_692_000),
    (42_000_000, 2_500, 3_192_000),
    (66_000_000, 3_000, 5_292_000),
    (96_000_000, 3_500, 8_592_000),
    (i64::MAX, 4_500, 18_192_000),
];

/// The monthly table the separately taxed annual bonus is looked up in (by bonus ÷ 12).
pub const MONTHLY_BRACKETS: [(i64, i64, i64); 7] = [
    (300_000, 300, 0),
    (1_200_000, 1_000, 21_000),
    (2_500_000, 2_000, 141_000),
    (3_500_000, 2_500, 266_000),
    (5_500_000, 3_000, 441_000),
    (8_000_000, 3_500, 716_000),
    (i64::MAX, 4_500, 1_516_000),
];

/// `taxable × rate − quick deduction` by the bracket `taxable` falls in (bounds inclusive),
/// rounded to the fen; nothing on nothing.
fn bracket_tax(table: &[(i64, i64, i64)], taxable: i64) -> i64 {
    if taxable <= 0 {
        return 0;
    }
    let (_, rate, quick) =
        table.iter().copied().find(|(upper, _, _)| taxable <= *upper).unwrap_or(table[table.len() - 1]);
    (share(taxable, rate) - quick).max(0)
}

/// One month of an employee's pay, as the withholding sees it (fen).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaxMonth {
    /// Wages and salaries of the month (综合所得 that is withheld on: the gross of the payslip,
    /// without a separately taxed annual bonus).
    pub wages: i64,
    /// The employee's social insurance and housing fund of the month (专项扣除).
    pub special: i64,
    /// Special additional deductions claimed for the month (专项附加扣除).
    pub additional: i64,
    /// Other allowed deductions (enterprise annuity, commercial health insurance …).
    pub other: i64,
}

/// The year so far at this employer, before the current month (fen).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TaxYear {
    pub months: i64,
    pub wages: i64,
    pub deductions: i64,
    pub withheld: i64,
}

/// One month's withholding and what it was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Withholding {
    /// Months worked this year at this employer, this one included.
    pub months: i64,
    pub cumulative_wages: i64,
    /// Basic deductions, special and additional and other deductions, all cumulated.
    pub cumulative_deductions: i64,
    pub cumulative_taxable: i64,
    pub rate_bp: i64,
    pub quick_deduction: i64,
    pub cumulative_tax: i64,
    /// This month's withholding: cumulative tax less what was withheld before, never below 0.
    pub tax: i64,
}

/// The cumulative withholding of one month (`china-tax-payroll.md`): the year so far plus
/// this month, less 5,000 a month worked, less the deductions, taxed by the annual table; this
/// month withholds the difference to what was withheld before.
pub fn withhold(before: &TaxYear, month: &TaxMonth) -> Withholding {
    withhold_with(before, month, 1)
}

/// A second payment in a month already paid (an off-cycle run): its wages join the year, but
/// the month is not counted again, so neither is its 5,000.
pub fn withhold_again(before: &TaxYear, month: &TaxMonth) -> Withholding {
    withhold_with(before, month, 0)
}

fn withhold_with(before: &TaxYear, month: &TaxMonth, new_months: i64) -> Withholding {
    let months = before.months + new_months;
    let cumulative_wages = before.wages + month.wages;
    let cumulative_deductions =
        before.deductions + BASIC_DEDUCTION * new_months + month.special + month.additional + month.other;
    let cumulative_taxable = (cumulative_wages - cumulative_deductions).max(0);
    let (rate_bp, quick_deduction) = if cumulative_taxable == 0 {
        (0, 0)
    } else {
        let (_, rate, quick) = CUMULATIVE_BRACKETS
            .iter()
            .copied()
            .find(|(upper, _, _)| cumulative_taxable <= *upper)
            .unwrap_or(CUMULATIVE_BRACKETS[6]);
        (rate, quick)
    };
    let cumulative_tax = bracket_tax(&CUMULATIVE_BRACKETS, cumulative_taxable);
    Withholding {
        months,
        cumulative_wages,
        cumulative_deductions,
        cumulative_taxable,
        rate_bp,
        quick_deduction,
        cumulative_tax,
        tax: (cumulative_tax - before.withheld).max(0),
    }
}

impl TaxYear {
    /// The year after this month's withholding.
    pub fn after(&self, w: &Withholding) -> TaxYear {
        TaxYear {
            months: w.months,
            wages: w.cumulative_wages,
            deductions: w.cumulative_deductions,
            withheld: self.withheld + w.tax,
        }
    }
}

/// Tax on an annual one-time bonus taxed separately (全年一次性奖金单独计税): the rate of
/// bonus ÷ 12 in the monthly table, applied to the whole bonus.
pub fn annual_bonus_tax(bonus: i64) -> i64 {
    if bonus <= 0 {
        return 0;
    }
    let monthly = Decimal::from(bonus) / Decimal::from(12);
    let (_, rate, quick) = MONTHLY_BRACKETS
        .iter()
        .copied()
        .find(|(upper, _, _)| monthly <= Decimal::from(*upper))
        .unwrap_or(MONTHLY_BRACKETS[6]);
    (share(bonus, rate) - quick).max(0)
}

/// The separate taxation of the annual bonus is allowed through this date.
pub const SEPARATE_BONUS_UNTIL: &str = "2027-12-31";

// ---- Social insurance and housing fund (五险一金) ----

/// A city's rule for one year: the base's floor and cap and the rates (bp). Shipped tables
/// are marked as samples; a company enters its city's published figures.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CityRule {
    pub city: String,
    pub year: i32,
    pub floor: i64,
    pub cap: i64,
    pub pension_employee_bp: i64,
    pub medical_employee_bp: i64,
    pub unemployment_employee_bp: i64,
    pub pension_employer_bp: i64,
    pub medical_employer_bp: i64,
    pub unemployment_employer_bp: i64,
    pub injury_employer_bp: i64,
    /// The housing fund rate when the employee has none of their own (employer pays the same).
    pub housing_fund_bp: i64,
    /// What each contribution is rounded to: `fen`, `jiao` or `yuan` (half away from zero).
    pub rounding: String,
    pub sample: bool,
}

/// The roundings a city rule may name, with their unit in fen.
pub const ROUNDINGS: [(&str, i64); 3] = [("fen", 1), ("jiao", 10), ("yuan", 100)];

/// `rate_bp` of `amount` (fen) rounded to `unit` fen, half away from zero.
pub fn share_to(amount: i64, rate_bp: i64, unit: i64) -> i64 {
    let exact = Decimal::from(amount) * Decimal::from(rate_bp) / Decimal::from(10_000) / Decimal::from(unit);
    to_fen(exact.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)) * unit
}

/// One employee's contributions for a month (fen).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Contributions {
    pub base: i64,
    pub pension_employee: i64,
    pub medical_employee: i64,
    pub unemployment_employee: i64,
    pub housing_employee: i64,
    pub pension_employer: i64,
    pub medical_employer: i64,
    pub unemployment_employer: i64,
    pub injury_employer: i64,
    pub housing_employer: i64,
}

impl Contributions {
    /// What is withheld from the employee (专项扣除).
    pub fn employee(&self) -> i64 {
        self.pension_employee + self.medical_employee + self.unemployment_employee + self.housing_employee
    }

    /// What the employer pays on top of the wage.
    pub fn employer(&self) -> i64 {
        self.pension_employer
            + self.medical_employer
            + self.unemployment_employer
            + self.injury_employer
            + self.housing_employer
    }
}

/// Contributions on `wage_base` (the employee's average monthly wage of the previous year, or
/// for a new hire the agreed monthly wage), clamped to the city's floor and cap; each item is
/// rounded to the fen. `housing_bp` is the employee's own housing fund rate, if any.
pub fn contributions(rule: &CityRule, wage_base: i64, housing_bp: Option<i64>) -> Contributions {
    let base = wage_base.clamp(rule.floor, rule.cap.max(rule.floor));
    let housing = housing_bp.unwrap_or(rule.housing_fund_bp);
    let unit = ROUNDINGS.iter().find(|(name, _)| *name == rule.rounding).map_or(1, |(_, unit)| *unit);
    let share = |rate_bp: i64| share_to(base, rate_bp, unit);
    Contributions {
        base,
        pension_employee: share(rule.pension_employee_bp),
        medical_employee: share(rule.medical_employee_bp),
        unemployment_employee: share(rule.unemployment_employee_bp),
        housing_employee: share(housing),
        pension_employer: share(rule.pension_employer_bp),
        medical_employer: share(rule.medical_employer_bp),
        unemployment_employer: share(rule.unemployment_employer_bp),
        injury_employer: share(rule.injury_employer_bp),
        housing_employer: share(housing),
    }
}

/// The sample city table shipped with every company (marked as a sample): Shanghai-like
/// figures for 2026 — base 7,460 to 37,302 yuan, employee 8 % / 2 % / 0.5 %, employer 16 % /
/// 10 % / 0.5 % / 0.26 %, housing fund 7 %.
pub fn sample_city(year: i32) -> CityRule {
    CityRule {
        city: "上海".into(),
        year,
        floor: 746_000,
        cap: 3_730_200,
        pension_employee_bp: 800,
        medical_employee_bp: 200,
        unemployment_employee_bp: 50,
        pension_employer_bp: 1_600,
        medical_employer_bp: 1_000,
        unemployment_employer_bp: 50,
        injury_employer_bp: 26,
        housing_fund_bp: 700,
        rounding: "fen".into(),
        sample: true,
    }
}

// ---- Performance ratings ----

/// Ratings from best to worst.
pub const RATINGS: [&str; 5] = ["A", "B", "C", "D", "E"];

/// The default bonus table: the share of the target bonus each rating earns (bp).
pub const BONUS_TABLE: [(&str, i64); 5] = [("A", 15_000), ("B", 12_000), ("C", 10_000), ("D", 5_000), ("E", 0)];

/// The share of the target bonus a rating earns, in percent as a decimal (A → 150).
pub fn bonus_percent(rating: &str) -> Decimal {
    BONUS_TABLE
        .iter()
        .find(|(r, _)| *r == rating)
        .map(|(_, bp)| Decimal::from(*bp) / Decimal::from(100))
        .unwrap_or(Decimal::ZERO)
}

/// The final rating of a weighted score out of 100 (before calibration moves it).
pub fn rating_of(score: Decimal) -> &'static str {
    match score {
        s if s >= Decimal::from(90) => "A",
        s if s >= Decimal::from(80) => "B",
        s if s >= Decimal::from(70) => "C",
        s if s >= Decimal::from(60) => "D",
        _ => "E",
    }
}

// ---- Salary formulas ----

/// A parsed formula: arithmetic over named figures (`base`, `days_worked`, `rating_percent`,
/// an earlier component's code …), numbers, `+ - * /`, parentheses and the functions `min`,
/// `max` and `round` (to the fen). Figures are in yuan; the result is rounded to the fen.
#[derive(Debug, Clone, PartialEq)]
pub enum Formula {
    Number(Decimal),
    Figure(String),
    Negate(Box<Formula>),
    Binary(char, Box<Formula>, Box<Formula>),
    Call(String, Vec<Formula>),
}

/// Why a formula does not parse or cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormulaError(pub String);

impl std::fmt::Display for FormulaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

const FUNCTIONS: [&str; 3] = ["min", "max", "round"];

impl Formula {
    pub fn parse(text: &str) -> Result<Formula, FormulaError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, at: 0 };
        let formula = parser.expression()?;
        match parser.tokens.get(parser.at) {
            None => Ok(formula),
            Some(t) => Err(FormulaError(format!("unexpected “{t}”"))),
        }
    }

    /// The figures the formula reads, in order of first use.
    pub fn figures(&self) -> Vec<String> {
        fn walk(f: &Formula, out: &mut Vec<String>) {
            match f {
                Formula::Number(_) => {}
                Formula::Figure(name) => {
                    if !out.contains(name) {
                        out.push(name.clone());
                    }
                }
                Formula::Negate(inner) => walk(inner, out),
                Formula::Binary(_, a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Formula::Call(_, args) => args.iter().for_each(|a| walk(a, out)),
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }

    /// The value with the given figures (in yuan).
    pub fn eval(&self, figures: &HashMap<String, Decimal>) -> Result<Decimal, FormulaError> {
        Ok(match self {
            Formula::Number(n) => *n,
            Formula::Figure(name) => {
                *figures.get(name).ok_or_else(|| FormulaError(format!("unknown figure “{name}”")))?
            }
            Formula::Negate(inner) => -inner.eval(figures)?,
            Formula::Binary(op, a, b) => {
                let (a, b) = (a.eval(figures)?, b.eval(figures)?);
                match op {
                    '+' => a.checked_add(b),
                    '-' => a.checked_sub(b),
                    '*' => a.checked_mul(b),
                    _ if b.is_zero() => return Err(FormulaError("division by zero".into())),
                    _ => a.checked_div(b),
                }
                .ok_or_else(|| FormulaError("the result is too large".into()))?
            }
            Formula::Call(name, args) => {
                let values = args.iter().map(|a| a.eval(figures)).collect::<Result<Vec<_>, _>>()?;
                match (name.as_str(), values.as_slice()) {
                    ("round", [x]) => x.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
                    ("min", [first, rest @ ..]) => rest.iter().fold(*first, |m, v| m.min(*v)),
                    ("max", [first, rest @ ..]) => rest.iter().fold(*first, |m, v| m.max(*v)),
                    _ => return Err(FormulaError(format!("{name}() takes other arguments"))),
                }
            }
        })
    }

    /// The value in fen, rounded.
    pub fn fen(&self, figures: &HashMap<String, Decimal>) -> Result<i64, FormulaError> {
        Ok(to_fen(self.eval(figures)? * Decimal::from(100)))
    }
}

fn tokenize(text: &str) -> Result<Vec<String>, FormulaError> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if "+-*/(),".contains(c) {
            tokens.push(c.to_string());
            i += 1;
        } else {
            return Err(FormulaError(format!("unexpected character “{c}”")));
        }
    }
    if tokens.len() > 200 {
        return Err(FormulaError("the formula is too long".into()));
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<String>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Option<String> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expect(&mut self, token: &str) -> Result<(), FormulaError> {
        match self.next() {
            Some(t) if t == token => Ok(()),
            Some(t) => Err(FormulaError(format!("expected “{token}”, found “{t}”"))),
            None => Err(FormulaError(format!("expected “{token}” at the end"))),
        }
    }

    fn expression(&mut self) -> Result<Formula, FormulaError> {
        let mut left = self.term()?;
        while let Some(op @ ("+" | "-")) = self.peek() {
            let op = op.chars().next().unwrap_or('+');
            self.at += 1;
            left = Formula::Binary(op, Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Formula, FormulaError> {
        let mut left = self.factor()?;
        while let Some(op @ ("*" | "/")) = self.peek() {
            let op = op.chars().next().unwrap_or('*');
            self.at += 1;
            left = Formula::Binary(op, Box::new(left), Box::new(self.factor()?));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Formula, FormulaError> {
        let Some(token) = self.next() else {
            return Err(FormulaError("the formula ends too early".into()));
        };
        match token.as_str() {
            "-" => Ok(Formula::Negate(Box::new(self.factor()?))),
            "(" => {
                let inner = self.expression()?;
                self.expect(")")?;
                Ok(inner)
            }
            t if t.starts_with(|c: char| c.is_ascii_digit() || c == '.') => {
                t.parse::<Decimal>().map(Formula::Number).map_err(|_| FormulaError(format!("“{t}” is not a number")))
            }
            t if t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') => {
                if self.peek() != Some("(") {
                    return Ok(Formula::Figure(t.to_string()));
                }
                if !FUNCTIONS.contains(&t) {
                    return Err(FormulaError(format!("unknown function “{t}”")));
                }
                self.at += 1;
                let mut args = vec![self.expression()?];
                while self.peek() == Some(",") {
                    self.at += 1;
                    args.push(self.expression()?);
                }
                self.expect(")")?;
                Ok(Formula::Call(t.to_string(), args))
            }
            t => Err(FormulaError(format!("unexpected “{t}”"))),
        }
    }
}

/// A code for a component or figure: lower-case letters, digits and `_`, starting with a
/// letter, at most 30 characters.
pub fn valid_code(code: &str) -> bool {
    let mut chars = code.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && code.len() <= 30
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Turns a formula error into a field error.
pub fn formula_problem(field: &str, error: &FormulaError) -> DomainError {
    DomainError::invalid(field, "error.hr.formula", error.0.clone())
}

// ---- Demand forecast ----

/// One department's and position's need for next year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Demand {
    /// Heads the drivers call for.
    pub needed: i64,
    /// Share of staff who left in the last twelve months (bp of those employed then).
    pub attrition_bp: i64,
    /// Leavers to replace next year at that rate.
    pub expected_exits: i64,
    /// needed − current + expected exits, never below 0.
    pub hires: i64,
    /// The hires by quarter, spread evenly, earlier quarters first.
    pub quarters: [i64; 4],
}

/// Heads a driver calls for: the planned figure over what one person carries, rounded up
/// (planned revenue 60,000,000 at one salesperson per 2,000,000 is 30); a per-head of 1 makes
/// the figure a number of heads.
pub fn heads_for(driver_value: Decimal, per_head: Decimal) -> Option<i64> {
    if per_head <= Decimal::ZERO || driver_value < Decimal::ZERO {
        return None;
    }
    (driver_value / per_head).ceil().to_i64()
}

/// Next year's demand from the heads needed, the current heads and the last twelve months'
/// exits: attrition is exits over everyone employed in those months (current + exits), and
/// the expected exits are that share of the needed heads, rounded half up.
pub fn demand(needed: i64, current: i64, exits_12m: i64) -> Demand {
    let employed = current + exits_12m;
    let attrition_bp = if employed > 0 { exits_12m * 10_000 / employed } else { 0 };
    let expected_exits = (needed * attrition_bp + 5_000) / 10_000;
    let hires = (needed - current + expected_exits).max(0);
    let mut quarters = [hires / 4; 4];
    for q in quarters.iter_mut().take((hires % 4) as usize) {
        *q += 1;
    }
    Demand { needed, attrition_bp, expected_exits, hires, quarters }
}

// ---- Résumé screening ----

/// Education levels from lowest to highest.
pub const EDUCATION: [&str; 5] = ["high_school", "college", "bachelor", "master", "doctorate"];

/// A screening score out of 100 and how it was reached, line by line: up to 50 for the
/// required keywords found in the résumé (each an equal share), 25 for the years of
/// experience (pro rata below the minimum), 25 for education (none below the level asked).
pub fn screen(
    resume: &str,
    years: i64,
    education: &str,
    keywords: &[String],
    min_years: i64,
    min_education: &str,
) -> (i64, Vec<String>) {
    let text = resume.to_lowercase();
    let found: Vec<&String> = keywords.iter().filter(|k| text.contains(&k.to_lowercase())).collect();
    let keyword_points = if keywords.is_empty() { 50 } else { 50 * found.len() as i64 / keywords.len() as i64 };
    let missing: Vec<&String> = keywords.iter().filter(|k| !found.contains(k)).collect();
    let year_points = if min_years <= 0 || years >= min_years { 25 } else { 25 * years.max(0) / min_years };
    let rank = |level: &str| EDUCATION.iter().position(|e| *e == level);
    let education_points = match (rank(education), rank(min_education)) {
        (_, None) => 25,
        (Some(have), Some(need)) if have >= need => 25,
        _ => 0,
    };
    let mut why = vec![format!(
        "keywords {}/{}: {keyword_points}/50{}{}",
        found.len(),
        keywords.len(),
        if found.is_empty() {
            String::new()
        } else {
            format!(" (found {})", found.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))
        },
        if missing.is_empty() {
            String::new()
        } else {
            format!(" (missing {})", missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))
        }
    )];
    why.push(format!("experience {years} of {min_years} years: {year_points}/25"));
    why.push(format!(
        "education {education} for {}: {education_points}/25",
        if min_education.is_empty() { "any" } else { min_education }
    ));
    (keyword_points + year_points + education_points, why)
}

/// Working days (Monday to Friday) of a month, less the given holidays.
pub fn working_days(year: i32, month: u32, holidays: &[chrono::NaiveDate]) -> Vec<chrono::NaiveDate> {
    use chrono::Datelike;
    let Some(first) = chrono::NaiveDate::from_ymd_opt(year, month, 1) else {
        return Vec::new();
    };
    first
        .iter_days()
        .take_while(|d| d.month() == month)
        .filter(|d| d.weekday().number_from_monday() <= 5 && !holidays.contains(d))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yuan(y: i64) -> i64 {
        y * 100
    }

    #[test]
    fn the_worked_example_withholds_300_300_300_580_1000() {
        // Salary 20,000, employee social insurance and housing fund 3,000, one child 2,000.
        let month = TaxMonth { wages: yuan(20_000), special: yuan(3_000), additional: yuan(2_000), other: 0 };
        let mut year = TaxYear::default();
        let mut seen = Vec::new();
        for _ in 1..=5 {
            let w = withhold(&year, &month);
            seen.push((w.cumulative_taxable / 100, w.cumulative_tax / 100, w.tax / 100));
            year = year.after(&w);
        }
        assert_eq!(
            seen,
            [(10_000, 300, 300), (20_000, 600, 300), (30_000, 900, 300), (40_000, 1_480, 580), (50_000, 2_480, 1_000)]
        );
    }

    #[test]
    fn a_mid_year_hire_deducts_5000_only_for_months_worked_here() {
        // Joined in July at 30,000: July is the first month of the year at this employer.
        let month = TaxMonth { wages: yuan(30_000), special: yuan(4_500), additional: 0, other: 0 };
        let july = withhold(&TaxYear::default(), &month);
        assert_eq!((july.months, july.cumulative_taxable, july.tax), (1, yuan(20_500), 61_500));
        let august = withhold(&TaxYear::default().after(&july), &month);
        // 41,000 cumulative: 10 % less 2,520 = 1,580, of which 615 was withheld.
        assert_eq!((august.cumulative_taxable, august.cumulative_tax, august.tax), (yuan(41_000), yuan(1_580), 96_500));
    }

    #[test]
    fn tax_is_exact_to_the_fen_and_never_negative() {
        let odd = TaxMonth { wages: 1_234_567, special: 0, additional: 0, other: 0 };
        // 12,345.67 − 5,000 = 7,345.67 × 3 % = 220.3701 → 220.37.
        assert_eq!(withhold(&TaxYear::default(), &odd).tax, 22_037);
        let low = TaxMonth { wages: yuan(4_000), special: yuan(400), additional: 0, other: 0 };
        assert_eq!(withhold(&TaxYear::default(), &low).tax, 0);
        // When the year's tax so far (54,000 − 10,400 = 43,600: 1,840) is below what was
        // withheld already (a correction lowered it), the month withholds nothing, no refund.
        let year = TaxYear { months: 1, wages: yuan(50_000), deductions: yuan(5_000), withheld: yuan(2_000) };
        assert_eq!(withhold(&year, &low).tax, 0);
    }

    #[test]
    fn the_annual_bonus_is_taxed_at_the_rate_of_one_twelfth() {
        // 36,000 ÷ 12 = 3,000: 3 %. 36,001 ÷ 12 just above 3,000: 10 % less 210.
        assert_eq!(annual_bonus_tax(yuan(36_000)), yuan(1_080));
        assert_eq!(annual_bonus_tax(yuan(36_001)), 339_010);
        assert_eq!(annual_bonus_tax(yuan(60_000)), yuan(5_790));
        assert_eq!(annual_bonus_tax(0), 0);
    }

    #[test]
    fn contributions_use_a_base_clamped_to_the_city_floor_and_cap() {
        let city = sample_city(2026);
        let middle = contributions(&city, yuan(20_000), None);
        assert_eq!(
            (middle.pension_employee, middle.medical_employee, middle.unemployment_employee, middle.housing_employee),
            (yuan(1_600), yuan(400), yuan(100), yuan(1_400))
        );
        assert_eq!(middle.employee(), yuan(3_500));
        assert_eq!(middle.employer(), yuan(3_200) + yuan(2_000) + yuan(100) + yuan(52) + yuan(1_400));
        assert_eq!(contributions(&city, yuan(5_000), None).base, 746_000);
        assert_eq!(contributions(&city, yuan(80_000), Some(1_200)).base, 3_730_200);
        // 37,302 × 12 % = 4,476.24.
        assert_eq!(contributions(&city, yuan(80_000), Some(1_200)).housing_employee, 447_624);
    }

    #[test]
    fn a_city_may_round_contributions_to_the_jiao_or_the_yuan() {
        // 12,345.67 × 8 % = 987.6536: 987.65 to the fen, 987.70 to the jiao, 988 to the yuan.
        let mut city = sample_city(2026);
        let pension = |city: &CityRule| contributions(city, 1_234_567, None).pension_employee;
        assert_eq!(pension(&city), 98_765);
        city.rounding = "jiao".into();
        assert_eq!(pension(&city), 98_770);
        city.rounding = "yuan".into();
        assert_eq!(pension(&city), 98_800);
        // 12,345.67 × 7 % = 864.1969, to the yuan 864.
        assert_eq!(contributions(&city, 1_234_567, None).housing_employee, 86_400);
    }

    #[test]
    fn formulas_compute_in_yuan_and_round_to_the_fen() {
        let figures: HashMap<String, Decimal> = [
            ("base", Decimal::from(12_000)),
            ("days_worked", Decimal::from(15)),
            ("work_days", Decimal::from(22)),
            ("rating_percent", Decimal::from(120)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let pro_rata = Formula::parse("base * days_worked / work_days").unwrap();
        assert_eq!(pro_rata.fen(&figures), Ok(818_182), "8,181.8181… → 8,181.82");
        let bonus = Formula::parse("round(3000 * rating_percent / 100)").unwrap();
        assert_eq!(bonus.fen(&figures), Ok(yuan(3_600)));
        assert_eq!(Formula::parse("max(0, min(base, 10000) - -500)").unwrap().fen(&figures), Ok(yuan(10_500)));
        assert_eq!(Formula::parse("(base + 1) * 2").unwrap().figures(), ["base"]);
        for bad in ["base *", "base + (1", "sqrt(base)", "base $ 2", "1 2"] {
            assert!(Formula::parse(bad).is_err(), "{bad}");
        }
        assert!(Formula::parse("base / (days_worked - 15)").unwrap().fen(&figures).is_err());
        assert!(Formula::parse("bonus").unwrap().fen(&figures).is_err());
    }

    #[test]
    fn ratings_map_to_shares_of_the_target_bonus() {
        assert_eq!(bonus_percent("A"), Decimal::from(150));
        assert_eq!(bonus_percent("E"), Decimal::ZERO);
        assert_eq!(rating_of(Decimal::new(855, 1)), "B");
        assert_eq!(rating_of(Decimal::from(59)), "E");
    }

    #[test]
    fn demand_covers_growth_and_the_leavers_attrition_predicts() {
        // 60M of revenue at 2M a salesperson: 30. Eight work there now; two left last year
        // (2 of 10 employed: 20 %), so 6 of the 30 are expected to leave: 28 hires.
        let needed = heads_for(Decimal::from(60_000_000), Decimal::from(2_000_000)).unwrap();
        let d = demand(needed, 8, 2);
        assert_eq!((d.needed, d.attrition_bp, d.expected_exits, d.hires, d.quarters), (30, 2_000, 6, 28, [7, 7, 7, 7]));
        // A department already above its need hires nobody.
        assert_eq!(demand(3, 5, 0).hires, 0);
        assert_eq!(demand(2, 0, 0).quarters, [1, 1, 0, 0]);
        assert_eq!(heads_for(Decimal::from(5_000_001), Decimal::from(2_500_000)), Some(3));
        assert_eq!(heads_for(Decimal::ONE, Decimal::ZERO), None);
    }

    #[test]
    fn screening_scores_keywords_experience_and_education_and_says_why() {
        let keywords: Vec<String> = ["CRM", "谈判", "英语"].iter().map(|s| s.to_string()).collect();
        let (score, why) = screen("五年大客户销售，精通 crm 与商务谈判", 5, "bachelor", &keywords, 3, "bachelor");
        assert_eq!(score, 33 + 25 + 25);
        assert!(why[0].contains("found CRM, 谈判") && why[0].contains("missing 英语"), "{why:?}");
        // One year of three: a third of the experience points; college below bachelor: none.
        assert_eq!(screen("英语流利", 1, "college", &keywords, 3, "bachelor").0, 16 + 8);
        assert_eq!(screen("", 0, "", &[], 0, "").0, 100);
    }

    #[test]
    fn march_2026_has_22_working_days() {
        assert_eq!(working_days(2026, 3, &[]).len(), 22);
    }
}
