//! A person's name as registered, and its masked form for lists (`张*三`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 50;

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `张*三` / `李*` / `欧**锋`: first and (for three or more characters) last kept.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        match chars.len() {
            0 | 1 => "*".into(),
            2 => format!("{}*", chars[0]),
            n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
        }
    }
}

impl FromStr for PersonName {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let n = s.chars().count();
        if n == 0 || n > Self::MAX_CHARS || s.chars().any(|c| c.is_control()) {
            return Err(InvalidValue::new(
                "name",
                "format",
                format!("姓名不能为空，且不超过 {} 个字", Self::MAX_CHARS),
                format!("a name must not be empty and has at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(PersonName(s.to_string()))
    }
}

impl TryFrom<String> for PersonName {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<PersonName> for String {
    fn from(v: PersonName) -> String {
        v.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        let m = |s: &str| s.parse::<PersonName>().unwrap().masked();
        assert_eq!(m("张三丰"), "张*丰");
        assert_eq!(m("李四"), "李*");
        assert_eq!(m("欧阳锋锋"), "欧**锋");
        assert_eq!(m("王"), "*");
        assert!("  ".parse::<PersonName>().is_err());
        assert!("a\u{0}b".parse::<PersonName>().is_err());
        assert!("很".repeat(51).parse::<PersonName>().is_err());
    }
}
