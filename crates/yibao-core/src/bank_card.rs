//! Bank card numbers for reimbursement payments: 12-19 digits with a valid Luhn check digit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BankCardNumber(String);

fn luhn_ok(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

impl BankCardNumber {
    const FIELD: &'static str = "bank_card";

    /// Completes a number without its last digit by appending the Luhn check digit.
    pub fn complete(body: &str) -> Result<Self, InvalidValue> {
        for d in 0..10u8 {
            let candidate = format!("{body}{d}");
            if let Ok(card) = candidate.parse() {
                return Ok(card);
            }
        }
        Err(InvalidValue::new(Self::FIELD, "format", "银行卡号无效", "invalid bank card number"))
    }

    /// A corporate account (对公账户) a designated institution is paid to: 8–32 digits, with
    /// no check digit to verify.
    pub fn corporate(s: &str) -> Result<Self, InvalidValue> {
        let digits: String = s.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if (8..=32).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(BankCardNumber(digits))
        } else {
            Err(InvalidValue::new(
                Self::FIELD,
                "format",
                "对公账号应为 8–32 位数字",
                "a corporate account number is 8 to 32 digits",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `****1234`: what a claimant and most staff see.
    pub fn masked(&self) -> String {
        format!("****{}", &self.0[self.0.len() - 4..])
    }

    /// The SHA-256 of the number, in hex: what the audit log keeps beside the masked number,
    /// so that two entries can be compared without either holding the number.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        hex_lower(&Sha256::digest(self.0.as_bytes()))
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Serialises an optional card as `{"masked": "****1234", "sha256": "…"}` (or `null`): for
/// records that go into the audit log, which must not hold full card numbers. Use with
/// `#[serde(serialize_with = "crate::bank_card::masked_for_audit")]`.
pub fn masked_for_audit<S: serde::Serializer>(card: &Option<BankCardNumber>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    match card {
        None => s.serialize_none(),
        Some(card) => {
            let mut m = s.serialize_map(Some(2))?;
            m.serialize_entry("masked", &card.masked())?;
            m.serialize_entry("sha256", &card.digest())?;
            m.end()
        }
    }
}

/// Replaces, everywhere in `value`, the unkeyed digest [`masked_for_audit`] writes
/// (`{"masked", "sha256"}`) with one keyed with `salt` (`{"masked", "digest"}`, HMAC-SHA-256 of
/// the SHA-256): a card number has few enough possibilities to be found from its plain digest
/// and its masked digits, but not without the salt, which the database keeps sealed.
pub fn key_digests(value: &mut serde_json::Value, salt: &[u8]) {
    use hmac::{Hmac, Mac};
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let plain = match (map.get("masked"), map.get("sha256")) {
                (Some(Value::String(_)), Some(Value::String(sha))) => Some(sha.clone()),
                _ => None,
            };
            match plain {
                Some(sha) => {
                    map.remove("sha256");
                    let digest = Hmac::<sha2::Sha256>::new_from_slice(salt).map(|mut mac| {
                        mac.update(sha.as_bytes());
                        hex_lower(&mac.finalize().into_bytes())
                    });
                    map.insert("digest".into(), Value::String(digest.unwrap_or_default()));
                }
                None => map.values_mut().for_each(|v| key_digests(v, salt)),
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| key_digests(v, salt)),
        _ => {}
    }
}

impl FromStr for BankCardNumber {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: String = s.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::new(
                Self::FIELD,
                "format",
                "银行卡号应为 12–19 位数字",
                "a bank card number has 12 to 19 digits",
            ));
        }
        if !luhn_ok(digits.as_bytes()) {
            return Err(InvalidValue::new(
                Self::FIELD,
                "checksum",
                "银行卡号校验位不正确，请核对卡号",
                "the bank card number's check digit is wrong; please check the number",
            ));
        }
        Ok(BankCardNumber(digits))
    }
}

impl TryFrom<String> for BankCardNumber {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<BankCardNumber> for String {
    fn from(v: BankCardNumber) -> String {
        v.0
    }
}

impl fmt::Display for BankCardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let rows: &[(&str, Option<&str>)] = &[
            ("6222020200112233446", None),
            ("4111 1111 1111 1111", None),
            ("4111111111111112", Some("checksum")),
            ("41111111111", Some("format")),
            ("4111-1111-1111-111a", Some("format")),
        ];
        for (input, want) in rows {
            match (input.parse::<BankCardNumber>(), want) {
                (Ok(_), None) => {}
                (Err(e), Some(code)) => assert_eq!(e.code, *code, "{input}: {e}"),
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
        assert_eq!("4111111111111111".parse::<BankCardNumber>().unwrap().masked(), "****1111");
    }

    #[test]
    fn digests_in_the_log_are_keyed() {
        #[derive(serde::Serialize)]
        struct Order {
            #[serde(serialize_with = "masked_for_audit")]
            card: Option<BankCardNumber>,
            lines: Vec<serde_json::Value>,
        }
        let card: BankCardNumber = "6222020200112233446".parse().unwrap();
        let order =
            Order { card: Some(card.clone()), lines: vec![serde_json::json!({"masked": "****1", "sha256": "ab"})] };
        let mut v = serde_json::to_value(&order).unwrap();
        let mut w = v.clone();
        key_digests(&mut v, b"salt one");
        key_digests(&mut w, b"salt two");
        assert_eq!(v["card"]["masked"], "****3446");
        assert!(v["card"].get("sha256").is_none(), "the guessable digest is gone");
        let digest = v["card"]["digest"].as_str().unwrap();
        assert_eq!(digest.len(), 64);
        assert_ne!(digest, card.digest());
        assert_ne!(v["card"]["digest"], w["card"]["digest"], "another salt, another digest");
        assert!(v["lines"][0].get("digest").is_some(), "nested too");
        let mut again = serde_json::to_value(&order).unwrap();
        key_digests(&mut again, b"salt one");
        assert_eq!(v, again, "the same card and salt give the same digest: comparable");
    }

    proptest! {
        #[test]
        fn completed_numbers_validate_and_single_typos_fail(body in "[0-9]{15,18}", pos in 0usize..15, delta in 1u8..10) {
            let card = BankCardNumber::complete(&body).unwrap();
            let mut b = card.as_str().as_bytes().to_vec();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            prop_assert!(String::from_utf8(b).unwrap().parse::<BankCardNumber>().is_err());
        }
    }
}
