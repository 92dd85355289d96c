//! The one error a validated type returns: which field, what is wrong, what is expected,
//! in Chinese and in English.

use crate::i18n::{Lang, Text};

/// A value that failed validation. `field` is the stable machine name of the field
/// (e.g. `resident_id`), `code` a stable reason code (e.g. `checksum`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {}", message.en)]
pub struct InvalidValue {
    pub field: &'static str,
    pub code: &'static str,
    pub message: Text,
}

impl InvalidValue {
    pub fn new(field: &'static str, code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { field, code, message: Text::new(zh, en) }
    }

    pub fn message(&self, lang: Lang) -> &str {
        self.message.get(lang)
    }
}
