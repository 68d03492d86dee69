//! Identifiers with check digits and contact formats, checked the way GB 32100-2015 and
//! GB 11643-1999 define them (`shared/domain/identifiers.md`). Each check returns the
//! normalised value or a [`FieldError`] that says which rule failed.

use crate::error::FieldError;
use chrono::NaiveDate;

const CREDIT_CODE_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_CODE_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const RESIDENT_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RESIDENT_ID_CHECKS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character that completes the first 17 characters of a credit code (for
/// generating demo data and test fixtures); `None` if a character is outside the alphabet.
pub fn credit_code_check_char(first17: &str) -> Option<char> {
    let mut sum = 0;
    for (c, w) in first17.chars().zip(CREDIT_CODE_WEIGHTS) {
        sum += CREDIT_CODE_ALPHABET.find(c)? as u32 * w;
    }
    Some(CREDIT_CODE_ALPHABET.as_bytes()[((31 - sum % 31) % 31) as usize] as char)
}

/// The check character that completes the first 17 digits of a resident ID.
pub fn resident_id_check_char(first17: &str) -> Option<char> {
    let mut sum = 0;
    for (c, w) in first17.chars().zip(RESIDENT_ID_WEIGHTS) {
        sum += c.to_digit(10)? * w;
    }
    Some(RESIDENT_ID_CHECKS[(sum % 11) as usize])
}

/// Checks a unified social credit code (统一社会信用代码); returns it trimmed and upper-cased.
pub fn credit_code(field: &str, input: &str) -> Result<String, FieldError> {
    let code = input.trim().to_uppercase();
    if code.chars().count() != 18 {
        return Err(FieldError::new(field, "error.credit_code.length", code.chars().count().to_string()));
    }
    let mut values = Vec::with_capacity(18);
    for c in code.chars() {
        match CREDIT_CODE_ALPHABET.find(c) {
            Some(v) => values.push(v as u32),
            None => return Err(FieldError::new(field, "error.credit_code.character", c.to_string())),
        }
    }
    let sum: u32 = values.iter().zip(CREDIT_CODE_WEIGHTS).map(|(v, w)| v * w).sum();
    let expected_value = (31 - sum % 31) % 31;
    let expected = CREDIT_CODE_ALPHABET.as_bytes()[expected_value as usize] as char;
    if values[17] != expected_value {
        return Err(FieldError::new(field, "error.credit_code.check_digit", expected.to_string()));
    }
    Ok(code)
}

/// Checks a resident identity card number (公民身份号码): 17 digits, a real birth date and
/// the check character. Returns it upper-cased (a trailing `x` becomes `X`).
pub fn resident_id(field: &str, input: &str) -> Result<String, FieldError> {
    let id = input.trim().to_uppercase();
    let chars: Vec<char> = id.chars().collect();
    if chars.len() != 18 {
        return Err(FieldError::new(field, "error.resident_id.length", chars.len().to_string()));
    }
    let mut sum = 0;
    for (c, w) in chars[..17].iter().zip(RESIDENT_ID_WEIGHTS) {
        match c.to_digit(10) {
            Some(d) => sum += d * w,
            None => return Err(FieldError::new(field, "error.resident_id.character", c.to_string())),
        }
    }
    let birth: String = chars[6..14].iter().collect();
    if NaiveDate::parse_from_str(&birth, "%Y%m%d").is_err() {
        return Err(FieldError::new(field, "error.resident_id.birth_date", birth));
    }
    let expected = RESIDENT_ID_CHECKS[(sum % 11) as usize];
    if chars[17] != expected {
        return Err(FieldError::new(field, "error.resident_id.check_digit", expected.to_string()));
    }
    Ok(id)
}

/// Masks a resident ID for readers without the permission to see it: `110105********002X`.
pub fn mask_resident_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

/// Checks a mainland mobile number; accepts `+86`, spaces and dashes and returns the 11 digits.
pub fn mobile(field: &str, input: &str) -> Result<String, FieldError> {
    let mut digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
    if let Some(rest) = digits.strip_prefix("+86") {
        digits = rest.to_string();
    } else if digits.len() == 13 && digits.starts_with("86") {
        digits = digits[2..].to_string();
    }
    let valid = digits.len() == 11
        && digits.chars().all(|c| c.is_ascii_digit())
        && digits.starts_with('1')
        && matches!(digits.as_bytes()[1], b'3'..=b'9');
    if valid {
        Ok(digits)
    } else {
        Err(FieldError::new(field, "error.mobile.format", input.trim()))
    }
}

/// Checks an e-mail address: one `@`, a local part, and a domain with a dot. Returns it
/// trimmed with the domain lower-cased. (Deliverability is the mail server's business.)
pub fn email(field: &str, input: &str) -> Result<String, FieldError> {
    let trimmed = input.trim();
    let invalid = || FieldError::new(field, "error.email.format", trimmed);
    let (local, domain) = trimmed.split_once('@').ok_or_else(invalid)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if local.is_empty() || local.len() > 64 || trimmed.len() > 254 || !domain_ok || local.contains(char::is_whitespace)
    {
        return Err(invalid());
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_codes_from_the_reference_pass_and_fail_as_documented() {
        assert_eq!(credit_code("c", " 91350100m000100y43 ").unwrap(), "91350100M000100Y43");
        assert!(credit_code("c", "91110000600037341L").is_ok());
        let err = credit_code("c", "911100001000006290").unwrap_err();
        assert_eq!((err.key, err.detail.as_str()), ("error.credit_code.check_digit", "R"));
        assert_eq!(credit_code("c", "9111").unwrap_err().key, "error.credit_code.length");
        assert_eq!(credit_code("c", "91110000600037341I").unwrap_err().key, "error.credit_code.character");
        assert_eq!(credit_code_check_char("91110000100000629"), Some('R'));
    }

    #[test]
    fn resident_ids_check_date_and_check_character() {
        assert_eq!(resident_id("id", "11010519491231002x").unwrap(), "11010519491231002X");
        assert!(resident_id("id", "440524188001010014").is_ok());
        assert_eq!(resident_id("id", "110105194912310021").unwrap_err().key, "error.resident_id.check_digit");
        assert_eq!(resident_id("id", "110105194902301234").unwrap_err().key, "error.resident_id.birth_date");
        assert_eq!(mask_resident_id("11010519491231002X"), "110105********002X");
        assert_eq!(resident_id_check_char("11010519491231002"), Some('X'));
    }

    #[test]
    fn mobiles_are_normalised_to_eleven_digits() {
        assert_eq!(mobile("p", "+86 138-0013-8000").unwrap(), "13800138000");
        assert_eq!(mobile("p", "8613800138000").unwrap(), "13800138000");
        assert!(mobile("p", "12800138000").is_err());
        assert!(mobile("p", "1380013800").is_err());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert_eq!(email("e", " Wang.Wei@Example.COM ").unwrap(), "Wang.Wei@example.com");
        assert!(email("e", "wang@localhost").is_err());
        assert!(email("e", "@example.com").is_err());
        assert!(email("e", "wang wei@example.com").is_err());
    }
}
