//! The words of an uploaded résumé, for screening: a text file as it is; a Word file (`.docx`)
//! from its `word/document.xml` — a ZIP archive whose entries are stored or deflated, read
//! here without an archive library (only the one entry is needed), paragraphs as lines and
//! table cells separated by tabs; and a PDF from the text operators of its content streams.
//!
//! A PDF is read as a screener needs it, not as a viewer would draw it: every stream is
//! inflated (FlateDecode) or taken as it is; the `ToUnicode` maps among them (`bfchar` and
//! `bfrange`) turn the two-byte glyph codes of CID fonts — what Word and WPS write for Chinese
//! text — into characters, and literal strings are taken as Latin-1 text. Text shown with
//! `Tj`, `'`, `"` and `TJ` is kept in order, a line per text object or line move. Where one
//! code means different characters in different fonts the first map wins, which can garble a
//! word; screening only looks for keywords. The old binary `.doc` is kept and downloadable but
//! not read.

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
        "pdf" => pdf_text(bytes)?,
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

/// The shown text of a PDF (see the module header).
fn pdf_text(bytes: &[u8]) -> Option<String> {
    let streams = pdf_streams(bytes);
    let mut map: std::collections::HashMap<u32, String> = std::collections::HashMap::new();
    for stream in streams.iter().filter(|s| contains(s, b"begincmap")) {
        read_cmap(&String::from_utf8_lossy(stream), &mut map);
    }
    let mut out = String::new();
    for stream in streams.iter().filter(|s| !contains(s, b"begincmap") && contains(s, b"BT")) {
        content_text(stream, &map, &mut out);
        if out.len() > MAX_TEXT_BYTES {
            break;
        }
    }
    (!out.trim().is_empty()).then_some(out)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every stream of the file, inflated when it is deflated (at most 10 MB each, 64 MB in all).
fn pdf_streams(b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut total = 0;
    let mut at = 0;
    while let Some(found) = b[at..].windows(6).position(|w| w == b"stream") {
        let start_keyword = at + found;
        // `endstream` also contains "stream": only a keyword followed by an end of line opens one.
        let mut data = start_keyword + 6;
        match (b.get(data), b.get(data + 1)) {
            (Some(b'\r'), Some(b'\n')) => data += 2,
            (Some(b'\n'), _) => data += 1,
            _ => {
                at = start_keyword + 6;
                continue;
            }
        }
        let Some(end) = b[data..].windows(9).position(|w| w == b"endstream") else {
            break;
        };
        let raw = &b[data..data + end];
        let dictionary = &b[start_keyword.saturating_sub(400)..start_keyword];
        let dictionary = match dictionary.windows(2).rposition(|w| w == b"<<") {
            Some(open) => &dictionary[open..],
            None => dictionary,
        };
        let stream = if contains(dictionary, b"FlateDecode") {
            miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(raw, MAX_XML_BYTES).ok()
        } else if contains(dictionary, b"Filter") {
            None // images and other encodings
        } else {
            Some(raw.to_vec())
        };
        if let Some(stream) = stream {
            total += stream.len();
            out.push(stream);
        }
        if total > 64 * 1024 * 1024 {
            break;
        }
        at = data + end + 9;
    }
    out
}

/// The hex number of `<…>`.
fn hex_code(token: &str) -> Option<u32> {
    u32::from_str_radix(token.trim().trim_start_matches('<').trim_end_matches('>'), 16).ok()
}

/// The characters of a `<…>` destination (UTF-16BE).
fn hex_text(token: &str) -> String {
    let digits: Vec<u16> = token
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .as_bytes()
        .chunks(4)
        .filter_map(|c| u16::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok())
        .collect();
    String::from_utf16_lossy(&digits)
}

/// The `bfchar` and `bfrange` entries of a ToUnicode map.
fn read_cmap(cmap: &str, map: &mut std::collections::HashMap<u32, String>) {
    let tokens: Vec<&str> = cmap.split(|c: char| c.is_whitespace()).filter(|t| !t.is_empty()).collect();
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i] {
            t if t.ends_with("beginbfchar") => {
                i += 1;
                while i + 1 < tokens.len() && !tokens[i].starts_with("endbfchar") {
                    if let Some(code) = hex_code(tokens[i]) {
                        map.entry(code).or_insert_with(|| hex_text(tokens[i + 1]));
                    }
                    i += 2;
                }
            }
            t if t.ends_with("beginbfrange") => {
                i += 1;
                while i + 2 < tokens.len() && !tokens[i].starts_with("endbfrange") {
                    let (Some(low), Some(high)) = (hex_code(tokens[i]), hex_code(tokens[i + 1])) else {
                        break;
                    };
                    if tokens[i + 2].starts_with('[') {
                        // A list of destinations, one per code.
                        let mut j = i + 2;
                        let mut code = low;
                        loop {
                            let t = tokens[j].trim_start_matches('[');
                            let last = t.ends_with(']');
                            let t = t.trim_end_matches(']');
                            if !t.is_empty() && code <= high {
                                map.entry(code).or_insert_with(|| hex_text(t));
                                code += 1;
                            }
                            j += 1;
                            if last || j >= tokens.len() {
                                break;
                            }
                        }
                        i = j;
                    } else {
                        let first = hex_text(tokens[i + 2]);
                        let mut units: Vec<u16> = first.encode_utf16().collect();
                        for code in low..=high.min(low + 0xFFFF) {
                            map.entry(code).or_insert_with(|| String::from_utf16_lossy(&units));
                            if let Some(last) = units.last_mut() {
                                *last = last.wrapping_add(1);
                            }
                        }
                        i += 3;
                    }
                }
            }
            _ => i += 1,
        }
    }
}

/// The text a content stream shows, in order.
fn content_text(stream: &[u8], map: &std::collections::HashMap<u32, String>, out: &mut String) {
    let mut i = 0;
    let mut shown = false;
    while i < stream.len() {
        match stream[i] {
            b'(' => {
                // A literal string: bytes with escapes, nested parentheses balanced.
                let mut depth = 1;
                let mut bytes = Vec::new();
                i += 1;
                while i < stream.len() && depth > 0 {
                    match stream[i] {
                        b'\\' if i + 1 < stream.len() => {
                            i += 1;
                            bytes.push(match stream[i] {
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                c => c,
                            });
                        }
                        b'(' => {
                            depth += 1;
                            bytes.push(b'(');
                        }
                        b')' => {
                            depth -= 1;
                            if depth > 0 {
                                bytes.push(b')');
                            }
                        }
                        c => bytes.push(c),
                    }
                    i += 1;
                }
                // Two-byte codes when the maps know them, else Latin-1.
                let two_byte: Option<String> = (bytes.len().is_multiple_of(2) && !bytes.is_empty())
                    .then(|| {
                        bytes.chunks(2).map(|c| map.get(&(u32::from(c[0]) << 8 | u32::from(c[1]))).cloned()).collect()
                    })
                    .flatten();
                match two_byte {
                    Some(text) if bytes.iter().any(|b| *b < 0x20) => out.push_str(&text),
                    _ => out.extend(bytes.iter().map(|b| *b as char)),
                }
                shown = true;
            }
            b'<' if stream.get(i + 1) != Some(&b'<') => {
                let end = stream[i..].iter().position(|b| *b == b'>').map_or(stream.len(), |e| i + e);
                let hex: Vec<u8> = stream[i + 1..end].iter().copied().filter(u8::is_ascii_hexdigit).collect();
                let width = if hex.len().is_multiple_of(4) { 4 } else { 2 };
                for code in hex.chunks(width) {
                    let code = std::str::from_utf8(code).ok().and_then(|c| u32::from_str_radix(c, 16).ok());
                    match code.and_then(|c| map.get(&c)) {
                        Some(text) => out.push_str(text),
                        None => {
                            if let Some(c) = code.filter(|c| width == 2 && (0x20..0x7f).contains(c)) {
                                out.push(c as u8 as char);
                            }
                        }
                    }
                }
                shown = true;
                i = end + 1;
            }
            b'E' if stream.get(i + 1) == Some(&b'T') && shown => {
                out.push('\n');
                shown = false;
                i += 2;
            }
            b'T' if matches!(stream.get(i + 1), Some(b'd' | b'D' | b'*')) && shown => {
                out.push(' ');
                i += 2;
            }
            _ => i += 1,
        }
    }
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

    /// A PDF as Word writes Chinese: a CID font whose ToUnicode map turns two-byte codes into
    /// characters, the page's text deflated, and a Latin line in a literal string.
    fn pdf() -> Vec<u8> {
        let cmap = "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
            2 beginbfchar\n<0001> <97E9>\n<0002> <96EA>\nendbfchar\n1 beginbfrange\n<0010> <0011> <8C08>\nendbfrange\nendcmap";
        let content = "BT /F1 12 Tf 72 720 Td <000100020010 0011> Tj ET\nBT /F2 10 Tf 72 700 Td [(CRM English)] TJ ET";
        let deflated = miniz_oxide::deflate::compress_to_vec_zlib(content.as_bytes(), 6);
        let mut pdf = b"%PDF-1.7\n1 0 obj\n<< /Length 10 >>\nstream\n".to_vec();
        pdf.extend_from_slice(cmap.as_bytes());
        pdf.extend_from_slice(b"\nendstream\nendobj\n2 0 obj\n<< /Length 99 /Filter /FlateDecode >>\nstream\r\n");
        pdf.extend_from_slice(&deflated);
        pdf.extend_from_slice(b"\nendstream\nendobj\n%%EOF\n");
        pdf
    }

    #[test]
    fn a_pdf_resume_reads_through_its_unicode_maps() {
        // 韩雪 from bfchar, 谈 and 谉 (8C08, 8C09) from a bfrange; then a Latin line.
        assert_eq!(extract("pdf", &pdf()).expect("readable"), "韩雪谈谉\nCRM English\n");
    }

    #[test]
    fn what_is_not_a_readable_word_file_gives_no_text() {
        assert_eq!(extract("docx", b"PK\x03\x04 not really"), None);
        assert_eq!(extract("pdf", b"%PDF-1.7"), None);
        assert_eq!(extract("doc", &[0xD0, 0xCF, 0x11, 0xE0]), None);
        assert_eq!(decode_entities("A&#x4E2D;&#25991; &bogus; & B"), "A中文 &bogus; & B");
    }
}
