//! The two interface languages.

use serde::{Deserialize, Serialize};

/// An interface language. Simplified Chinese is the default for a new site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Lang {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    /// The BCP 47 tag used in cookies, `lang` attributes and the database.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Reads a stored tag; anything unknown falls back to Chinese.
    pub fn from_tag(tag: &str) -> Self {
        if tag.eq_ignore_ascii_case("en") || tag.to_ascii_lowercase().starts_with("en-") {
            Lang::En
        } else {
            Lang::ZhCn
        }
    }

    /// Picks the first supported language from an `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        header.split(',').map(|part| part.split(';').next().unwrap_or("").trim().to_ascii_lowercase()).find_map(|tag| {
            if tag.starts_with("zh") {
                Some(Lang::ZhCn)
            } else if tag.starts_with("en") {
                Some(Lang::En)
            } else {
                None
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_first_supported_tag() {
        assert_eq!(Lang::from_accept_language("fr-FR, en-GB;q=0.8, zh;q=0.5"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("zh-CN,zh;q=0.9"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_accept_language("de"), None);
    }
}
