//! The words of an uploaded résumé, for screening: a text file as it is, and a Word file
//! (`.docx`) from its `word/document.xml` — a ZIP archive whose entries are stored or deflated,
//! read here without an archive library (only the one entry is needed). Paragraphs become
//! lines and table cells are separated by tabs. PDF and the old binary `.doc` are kept and
//! downloadable but not read: a PDF's text is often in fonts whose glyph codes need their
//! own maps to become characters, which Chinese résumés nearly always use.

/// At most this much text is taken from a file (a résumé is a few pages).
const MAX_TEXT_BYTES: usize = 200_000;
/// An entry that inflates beyond this is not a résumé (or is a deflate bomb).
const MAX_XML_BYTES: usize = 10 * 1024 * 1024;

/// The text of a résumé file of `kind` (as `recruiting::file_kind` named it), when it can be
/// read.
pub fn extract(kind: &str, bytes: &[u8]) -> Option<String> {
    let text = match kind {
        "txt" => String::from_utf8_lossy(bytes).into_owned(),
        "docx" => docx_text(bytes)?,
        _ => return None,
    };
    let mut text = text;
    if text.len() > MAX_TEXT_BYTES {
        let mut end = MAX_TEXT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    Some(text)
}

/// The paragraphs of a Word document.
fn docx_text(bytes: &[u8]) -> Option<String> {
    let xml = zip_entry(bytes, "word/document.xml")?;
    Some(document_text(&String::from_utf8_lossy(&xml)))
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize)
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
}

/// One entry of a ZIP archive, found through the central directory (sizes in local headers
/// may be zero when the writer streamed them).
fn zip_entry(b: &[u8], name: &str) -> Option<Vec<u8>> {
    // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
    let tail = b.len().saturating_sub(65_557);
    let end = (tail..b.len().saturating_sub(21)).rev().find(|&i| b.get(i..i + 4) == Some(b"PK\x05\x06"))?;
    let entries = u16_at(b, end + 10)?;
    let mut at = u32_at(b, end + 16)?;
    for _ in 0..entries {
        if b.get(at..at + 4)? != b"PK\x01\x02" {
            return None;
        }
        let method = u16_at(b, at + 10)?;
        let compressed = u32_at(b, at + 20)?;
        let (name_len, extra_len, comment_len) = (u16_at(b, at + 28)?, u16_at(b, at + 30)?, u16_at(b, at + 32)?);
        let local = u32_at(b, at + 42)?;
        let entry_name = b.get(at + 46..at + 46 + name_len)?;
        if entry_name == name.as_bytes() {
            if b.get(local..local + 4)? != b"PK\x03\x04" {
                return None;
            }
            let start = local + 30 + u16_at(b, local + 26)? + u16_at(b, local + 28)?;
            let data = b.get(start..start.checked_add(compressed)?)?;
            return match method {
                0 => Some(data.to_vec()),
                8 => miniz_oxide::inflate::decompress_to_vec_with_limit(data, MAX_XML_BYTES).ok(),
                _ => None,
            };
        }
        at += 46 + name_len + extra_len + comment_len;
    }
    None
}

/// The text runs of WordprocessingML: `<w:t>` contents, a line per paragraph, a tab per tab
/// or table cell, entities decoded.
fn document_text(xml: &str) -> String {
    let mut out = String::new();
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open + 1..open + close];
        let after = &rest[open + close + 1..];
        let name = tag.trim_start_matches('/').split([' ', '/']).next().unwrap_or("");
        match (name, tag.starts_with('/')) {
            ("w:t", false) if !tag.ends_with('/') => {
                let end = after.find("</w:t>").unwrap_or(after.len());
                out.push_str(&decode_entities(&after[..end]));
                rest = &after[end..];
                continue;
            }
            ("w:p", true) => out.push('\n'),
            ("w:tab", false) | ("w:tc", true) => out.push('\t'),
            ("w:br", false) => out.push('\n'),
            _ => {}
        }
        rest = after;
    }
    out
}

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(semi) = after.find(';').filter(|&s| s <= 10) else {
            out.push('&');
            rest = after;
            continue;
        };
        let entity = &after[..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal Word file: a ZIP with `word/document.xml`, deflated or stored.
    fn docx(xml: &str, deflate: bool) -> Vec<u8> {
        let data =
            if deflate { miniz_oxide::deflate::compress_to_vec(xml.as_bytes(), 6) } else { xml.as_bytes().to_vec() };
        let name = b"word/document.xml";
        let method: u16 = if deflate { 8 } else { 0 };
        let mut zip = Vec::new();
        // Local header (CRC left 0: this reader does not check it).
        zip.extend_from_slice(b"PK\x03\x04");
        zip.extend_from_slice(&[20, 0, 0, 0]);
        zip.extend_from_slice(&method.to_le_bytes());
        zip.extend_from_slice(&[0; 8]);
        zip.extend_from_slice(&(data.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(xml.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
        zip.extend_from_slice(&[0, 0]);
        zip.extend_from_slice(name);
        zip.extend_from_slice(&data);
        let central = zip.len();
        zip.extend_from_slice(b"PK\x01\x02");
        zip.extend_from_slice(&[20, 0, 20, 0, 0, 0]);
        zip.extend_from_slice(&method.to_le_bytes());
        zip.extend_from_slice(&[0; 8]);
        zip.extend_from_slice(&(data.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(xml.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
        zip.extend_from_slice(&[0; 12]);
        zip.extend_from_slice(&0u32.to_le_bytes());
        zip.extend_from_slice(name);
        let size = zip.len() - central;
        zip.extend_from_slice(b"PK\x05\x06");
        zip.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
        zip.extend_from_slice(&(size as u32).to_le_bytes());
        zip.extend_from_slice(&(central as u32).to_le_bytes());
        zip.extend_from_slice(&[0, 0]);
        zip
    }

    const XML: &str = r#"<?xml version="1.0"?><w:document><w:body><w:p><w:r><w:t>韩雪 · 六年大客户销售</w:t></w:r></w:p><w:p><w:r><w:t xml:space="preserve">熟悉 CRM &amp; 谈判</w:t><w:tab/><w:t>英语 CET-6</w:t></w:r></w:p></w:body></w:document>"#;

    #[test]
    fn a_word_resume_reads_as_lines_of_text_deflated_or_stored() {
        for deflate in [true, false] {
            let text = extract("docx", &docx(XML, deflate)).expect("readable");
            assert_eq!(text, "韩雪 · 六年大客户销售\n熟悉 CRM & 谈判\t英语 CET-6\n");
        }
    }

    #[test]
    fn what_is_not_a_readable_word_file_gives_no_text() {
        assert_eq!(extract("docx", b"PK\x03\x04 not really"), None);
        assert_eq!(extract("pdf", b"%PDF-1.7"), None);
        assert_eq!(decode_entities("A&#x4E2D;&#25991; &bogus; & B"), "A中文 &bogus; & B");
    }
}
