//! Files kept in the database (a voucher's attachment, a candidate's résumé): their bytes as
//! base64 text in a column. Text reads and writes the same on SQLite and PostgreSQL through
//! sqlx's `Any` driver (which passes no byte arrays) and travels unchanged in the JSON-lines
//! backups.

use base64::Engine as _;
use kernel::DomainError;

/// The column text for a file's bytes.
pub fn to_column(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A file's bytes from its column text. Text that is not base64 was not written by
/// [`to_column`]: a damaged row, reported as an internal error.
pub fn from_column(text: &str) -> Result<Vec<u8>, DomainError> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| DomainError::Internal(format!("stored file: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_comes_back_byte_for_byte_and_damaged_text_is_an_error() {
        let pdf_head = b"%PDF-1.7\n\xe2\xe3\xcf\xd3\n";
        let column = to_column(pdf_head);
        assert_eq!(column, "JVBERi0xLjcK4uPP0wo=");
        assert_eq!(from_column(&column).unwrap(), pdf_head);
        assert!(matches!(from_column("JVBERi0x*"), Err(DomainError::Internal(_))));
    }
}
