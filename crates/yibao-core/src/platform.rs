//! The national medical insurance information platform's interface (国家医保信息平台接口),
//! as yibao speaks it: the request and response envelopes with the platform's field names,
//! the signature over a request, the time window, and the transaction codes yibao answers.
//! Pure: the store keeps messages and sign-ins, the web layer carries the bytes.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sm3::Sm3;

use crate::i18n::Text;

/// The format of `inf_time`, `refmsg_time` and `respond_time` (China time).
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// How far `inf_time` may be from the server's clock.
pub const TIME_WINDOW_SECONDS: i64 = 300;

/// The HTTP header that carries the request's signature (hex), over the exact body bytes.
pub const SIGNATURE_HEADER: &str = "x-tif-signature";

/// The request envelope (入参), every field as the platform names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// 交易编号, e.g. `9001`, `1101`, `2401`.
    pub infno: String,
    /// 发送方报文 ID: institution code + `yyyyMMddHHmmss` + a 4-digit sequence. Unique per
    /// institution; a retry sends the same one and gets the same answer.
    pub msgid: String,
    /// 就医地医保区划
    #[serde(default)]
    pub mdtrtarea_admvs: String,
    /// 参保地医保区划
    #[serde(default)]
    pub insuplc_admdvs: String,
    /// 接收方系统代码
    #[serde(default)]
    pub recer_sys_code: String,
    /// 接口版本号
    #[serde(default)]
    pub infver: String,
    /// 经办人类别: 1 staff, 2 self-service terminal, 3 mobile.
    #[serde(default)]
    pub opter_type: String,
    pub opter: String,
    pub opter_name: String,
    /// 交易时间 `yyyy-MM-dd HH:mm:ss`.
    pub inf_time: String,
    /// 定点医药机构编号
    pub fixmedins_code: String,
    pub fixmedins_name: String,
    /// 交易签到流水号 from 9001 (empty for 9001 itself).
    #[serde(default)]
    pub sign_no: String,
    /// 签名类型: `SM3` (HMAC-SM3) or `HMAC-SHA256`.
    #[serde(default)]
    pub signtype: String,
    #[serde(default)]
    pub input: serde_json::Value,
}

/// The response envelope (出参). `infcode` is 0 on success, -1 on a refusal; `err_msg` is
/// Chinese, as the platform's, and `err_msg_en` its English twin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub infcode: i32,
    /// 接收方报文 ID
    pub inf_refmsgid: String,
    pub refmsg_time: String,
    pub respond_time: String,
    pub err_msg: Option<String>,
    pub err_msg_en: Option<String>,
    /// yibao's refusal code (`bad_signature`, `stale_time`, ...), for programs.
    pub err_code: Option<String>,
    pub output: serde_json::Value,
}

/// A refusal, with its code and the message in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: Text,
}

impl Refusal {
    pub fn new(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Refusal {
        Refusal { code, message: Text::new(zh, en) }
    }

    pub fn bad_signature() -> Refusal {
        Refusal::new(
            "bad_signature",
            "报文签名校验失败：请检查机构密钥和签名类型",
            "the request's signature does not verify: check the institution's secret and signtype",
        )
    }

    pub fn bad_public_key() -> Refusal {
        Refusal::new(
            "bad_public_key",
            "SM2 公钥无效：应为十六进制的 SEC1 编码（04 开头的 65 字节，或压缩形式）",
            "invalid SM2 public key: expected hex SEC1 (65 bytes starting 04, or compressed)",
        )
    }
}

/// The signature algorithms a request may name in `signtype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignType {
    /// HMAC with the SM3 hash (GB/T 32905), the national default.
    HmacSm3,
    /// HMAC-SHA256, the fallback.
    HmacSha256,
    /// An SM2 signature (GM/T 0003, hex of `r‖s`) with the institution's private key,
    /// checked against the public key it registered; the body's SM3 digest with
    /// [`SM2_DISTID`].
    Sm2,
}

/// The distinguishing identifier SM2 signatures are made with (GM/T 0009's default).
pub const SM2_DISTID: &str = "1234567812345678";

fn sm2_key(public_key_hex: &str) -> Result<sm2::dsa::VerifyingKey, Refusal> {
    let bytes = hex::decode(public_key_hex.trim()).map_err(|_| Refusal::bad_public_key())?;
    sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DISTID, &bytes).map_err(|_| Refusal::bad_public_key())
}

/// Checks that `public_key_hex` is an SM2 public key (SEC1, hex: `04‖x‖y` or compressed),
/// before an institution's key is registered.
pub fn check_sm2_public_key(public_key_hex: &str) -> Result<(), Refusal> {
    sm2_key(public_key_hex).map(|_| ())
}

/// Checks an SM2 signature over `body` (hex of `r‖s`, 64 bytes) with a registered public
/// key.
pub fn verify_sm2(public_key_hex: &str, body: &[u8], signature_hex: &str) -> Result<(), Refusal> {
    use sm2::dsa::signature::Verifier;
    let key = sm2_key(public_key_hex)?;
    let bytes = hex::decode(signature_hex.trim()).map_err(|_| Refusal::bad_signature())?;
    let signature = sm2::dsa::Signature::from_slice(&bytes).map_err(|_| Refusal::bad_signature())?;
    key.verify(body, &signature).map_err(|_| Refusal::bad_signature())
}

/// The hospital's side: signs `body` with an SM2 private key (hex, 32 bytes), giving `r‖s`
/// as hex, and the matching public key (hex SEC1, uncompressed). For the load generator,
/// the tests and a hospital's integration testing.
pub fn sign_sm2(private_key_hex: &str, body: &[u8]) -> Result<(String, String), Refusal> {
    use sm2::dsa::signature::Signer;
    let bad = || Refusal::new("bad_private_key", "SM2 私钥无效", "invalid SM2 private key");
    let secret =
        sm2::SecretKey::from_slice(&hex::decode(private_key_hex.trim()).map_err(|_| bad())?).map_err(|_| bad())?;
    let key = sm2::dsa::SigningKey::new(SM2_DISTID, &secret).map_err(|_| bad())?;
    let signature: sm2::dsa::Signature = key.sign(body);
    let public = hex::encode(key.verifying_key().to_sec1_bytes());
    Ok((hex::encode(signature.to_bytes()), public))
}

impl SignType {
    pub fn parse(s: &str) -> Result<SignType, Refusal> {
        match s.trim().to_ascii_uppercase().as_str() {
            "SM3" | "HMAC-SM3" | "" => Ok(SignType::HmacSm3),
            "HMAC-SHA256" | "SHA256" => Ok(SignType::HmacSha256),
            "SM2" => Ok(SignType::Sm2),
            other => Err(Refusal::new(
                "bad_signtype",
                format!("不支持的签名类型“{other}”，请使用 SM3、SM2 或 HMAC-SHA256"),
                format!("unsupported signtype \"{other}\"; use SM3, SM2 or HMAC-SHA256"),
            )),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            SignType::HmacSm3 => "SM3",
            SignType::HmacSha256 => "HMAC-SHA256",
            SignType::Sm2 => "SM2",
        }
    }

    /// Whether the request is checked against a registered public key (SM2) rather than a
    /// shared secret (HMAC).
    pub fn is_public_key(self) -> bool {
        self == SignType::Sm2
    }

    /// The signature of `body` with `secret`, as lower-case hex.
    pub fn sign(self, secret: &[u8], body: &[u8]) -> String {
        hex::encode(self.mac(secret, body))
    }

    fn mac(self, secret: &[u8], body: &[u8]) -> Vec<u8> {
        // HMAC takes a key of any length, so `new_from_slice` cannot fail.
        match self {
            SignType::HmacSm3 => match Hmac::<Sm3>::new_from_slice(secret) {
                Ok(mut m) => {
                    m.update(body);
                    m.finalize().into_bytes().to_vec()
                }
                Err(_) => Vec::new(),
            },
            SignType::HmacSha256 => match Hmac::<Sha256>::new_from_slice(secret) {
                Ok(mut m) => {
                    m.update(body);
                    m.finalize().into_bytes().to_vec()
                }
                Err(_) => Vec::new(),
            },
            // Not an HMAC: no shared-secret signature exists, so none verifies.
            SignType::Sm2 => Vec::new(),
        }
    }

    /// Checks a hex signature over `body` in constant time.
    pub fn verify(self, secret: &[u8], body: &[u8], signature_hex: &str) -> Result<(), Refusal> {
        let bad = Refusal::bad_signature;
        let given = hex::decode(signature_hex.trim()).map_err(|_| bad())?;
        let expected = self.mac(secret, body);
        if given.len() != expected.len() || expected.is_empty() {
            return Err(bad());
        }
        let diff = given.iter().zip(&expected).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff == 0 {
            Ok(())
        } else {
            Err(bad())
        }
    }
}

/// Checks `inf_time` against the server's clock (China time), within
/// [`TIME_WINDOW_SECONDS`] either way.
pub fn check_time(inf_time: &str, now: NaiveDateTime) -> Result<NaiveDateTime, Refusal> {
    let t = NaiveDateTime::parse_from_str(inf_time.trim(), TIME_FORMAT).map_err(|_| {
        Refusal::new(
            "bad_time",
            format!("交易时间“{inf_time}”格式应为 yyyy-MM-dd HH:mm:ss"),
            format!("inf_time \"{inf_time}\" should look like 2026-11-23 09:30:00"),
        )
    })?;
    if (t - now).abs() > Duration::seconds(TIME_WINDOW_SECONDS) {
        return Err(Refusal::new(
            "stale_time",
            format!("交易时间 {inf_time} 与服务器时间相差超过 {} 分钟，请校准时钟后重发", TIME_WINDOW_SECONDS / 60),
            format!(
                "inf_time {inf_time} is more than {} minutes from the server's clock; set the clock and resend",
                TIME_WINDOW_SECONDS / 60
            ),
        ));
    }
    Ok(t)
}

/// Checks a `msgid`: the sending institution's code, then 14 digits of time and 4 of
/// sequence (the platform's rule), at most 30 characters.
pub fn check_msgid(msgid: &str, fixmedins_code: &str) -> Result<(), Refusal> {
    let rest = msgid.strip_prefix(fixmedins_code).unwrap_or("");
    if msgid.len() > 30 || fixmedins_code.is_empty() || rest.len() != 18 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::new(
            "bad_msgid",
            format!("报文 ID“{msgid}”应为机构编号 + 14 位时间 + 4 位顺序号"),
            format!("msgid \"{msgid}\" should be the institution code, 14 digits of time and a 4-digit sequence"),
        ));
    }
    Ok(())
}

/// The transactions yibao answers, with their names; any other `infno` is refused by name.
pub const SUPPORTED: &[(&str, &str, &str)] = &[
    ("9001", "签到", "sign-in"),
    ("1101", "人员信息获取", "person and cover information"),
    ("2401", "入院办理", "admission"),
    ("2403", "入院信息变更", "change an admission"),
    ("2404", "入院撤销", "undo an admission"),
    ("2301", "住院费用明细上传", "upload inpatient fee lines"),
    ("2302", "住院费用明细撤销", "undo inpatient fee lines"),
    ("2402", "出院办理", "discharge"),
    ("2405", "出院撤销", "undo a discharge"),
    ("2303", "住院预结算", "inpatient pre-settlement"),
    ("2304", "住院结算", "inpatient settlement"),
    ("2305", "住院结算撤销", "reverse an inpatient settlement"),
    ("2201", "门诊挂号", "outpatient registration"),
    ("2202", "门诊挂号撤销", "undo an outpatient registration"),
    ("2203", "门诊就诊信息上传", "outpatient visit information (diagnoses)"),
    ("2204", "门诊费用明细上传", "upload outpatient fee lines"),
    ("2205", "门诊费用明细撤销", "undo outpatient fee lines"),
    ("2206", "门诊预结算", "outpatient pre-settlement"),
    ("2207", "门诊结算", "outpatient settlement"),
    ("2208", "门诊结算撤销", "reverse an outpatient settlement"),
    ("2101", "药店预结算", "pharmacy pre-settlement"),
    ("2102", "药店结算", "pharmacy settlement"),
    ("2103", "药店结算撤销", "reverse a pharmacy settlement"),
    ("3101", "明细审核事前分析服务", "supervision analysis before the orders (事前)"),
    ("3102", "明细审核事中分析服务", "supervision analysis before settlement (事中)"),
    ("3201", "医药机构费用结算对总账", "reconcile a period's totals"),
    ("3202", "医药机构费用结算对明细账", "reconcile a period's settlements one by one"),
    ("3203", "清算申请", "apply for clearing of a period"),
    ("3204", "清算申请撤销", "withdraw a clearing application"),
];

/// One settlement's figures, as one side of a reconciliation of details (3202) has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementFigures {
    pub setl_id: String,
    #[serde(default)]
    pub mdtrt_id: String,
    pub medfee_sumamt: crate::Fen,
    pub fund_pay_sumamt: crate::Fen,
    #[serde(default)]
    pub acct_pay: crate::Fen,
}

/// How one settlement differs between yibao and the institution (3202's `stmt_rslt` per line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DetailResult {
    /// `1`: in force in yibao, missing from the institution's list.
    OnlyYibao,
    /// `2`: on the institution's list, not in force in yibao (unknown, reversed, or outside
    /// the period).
    OnlyInstitution,
    /// `3`: on both, with different amounts.
    Amounts,
}

impl DetailResult {
    pub fn code(self) -> &'static str {
        match self {
            DetailResult::OnlyYibao => "1",
            DetailResult::OnlyInstitution => "2",
            DetailResult::Amounts => "3",
        }
    }

    pub fn label(self) -> Text {
        match self {
            DetailResult::OnlyYibao => Text::new("医保有、机构无", "in yibao, missing from the institution's list"),
            DetailResult::OnlyInstitution => {
                Text::new("机构有、医保无（或已撤销）", "on the institution's list, not in force in yibao")
            }
            DetailResult::Amounts => Text::new("金额不一致", "the amounts differ"),
        }
    }
}

/// A settlement that does not reconcile: yibao's figures and the institution's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailDifference {
    pub setl_id: String,
    pub result: DetailResult,
    pub ours: Option<SettlementFigures>,
    pub theirs: Option<SettlementFigures>,
}

/// Compares the institution's settlements with yibao's, one by one, by `setl_id`: every
/// settlement only one side has, and every one whose amounts differ, in `setl_id` order.
pub fn reconcile_details(ours: &[SettlementFigures], theirs: &[SettlementFigures]) -> Vec<DetailDifference> {
    use std::collections::BTreeMap;
    let ours: BTreeMap<&str, &SettlementFigures> = ours.iter().map(|s| (s.setl_id.as_str(), s)).collect();
    let theirs: BTreeMap<&str, &SettlementFigures> = theirs.iter().map(|s| (s.setl_id.as_str(), s)).collect();
    let ids: std::collections::BTreeSet<&str> = ours.keys().chain(theirs.keys()).copied().collect();
    ids.into_iter()
        .filter_map(|id| {
            let (o, t) = (ours.get(id).copied(), theirs.get(id).copied());
            let result = match (o, t) {
                (Some(_), None) => DetailResult::OnlyYibao,
                (None, Some(_)) => DetailResult::OnlyInstitution,
                (Some(o), Some(t))
                    if (o.medfee_sumamt, o.fund_pay_sumamt, o.acct_pay)
                        != (t.medfee_sumamt, t.fund_pay_sumamt, t.acct_pay) =>
                {
                    DetailResult::Amounts
                }
                _ => return None,
            };
            Some(DetailDifference { setl_id: id.to_string(), result, ours: o.cloned(), theirs: t.cloned() })
        })
        .collect()
}

/// The longest text any field of a message's `input` may hold, in characters (the longest
/// field the platform's interface documents, a diagnosis or item name, is far shorter).
pub const MAX_FIELD_CHARS: usize = 1_000;

/// Refuses a message whose `input` holds a text longer than [`MAX_FIELD_CHARS`] or a control
/// or text-direction character, naming where: nothing like that is a real value, and it
/// would be stored and audited as is (see [`crate::text`]).
pub fn check_field_lengths(input: &serde_json::Value) -> Result<(), Refusal> {
    fn walk(v: &serde_json::Value, path: &mut String) -> Result<(), Refusal> {
        match v {
            serde_json::Value::String(s) => crate::text::check_plain(path, s, MAX_FIELD_CHARS).map_err(|r| Refusal {
                code: if r.code == "too_long" { "field_too_long" } else { r.code },
                message: r.message,
            }),
            serde_json::Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let r = walk(item, path);
                path.truncate(len);
                r
            }),
            serde_json::Value::Object(fields) => fields.iter().try_for_each(|(k, item)| {
                let len = path.len();
                path.push_str(&format!(".{k}"));
                let r = walk(item, path);
                path.truncate(len);
                r
            }),
            _ => Ok(()),
        }
    }
    walk(input, &mut "input".to_string())
}

/// Refuses a time a hospital sends for something that happened (an admission): not after
/// `now` by more than a day (clocks differ), not before 2000.
pub fn check_event_time(field: &str, at: NaiveDateTime, now: NaiveDateTime) -> Result<(), Refusal> {
    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
    if at > now + Duration::days(1) || earliest.is_some_and(|e| at < e) {
        return Err(Refusal::new(
            "bad_time",
            format!("{field} “{at}”不在合理范围内：不能晚于当前时间，也不能早于 2000 年"),
            format!("{field} \"{at}\" is out of range: not in the future, not before 2000"),
        ));
    }
    Ok(())
}

/// Refuses an `infno` yibao does not answer, listing those it does.
pub fn check_infno(infno: &str) -> Result<(), Refusal> {
    if SUPPORTED.iter().any(|(code, _, _)| *code == infno) {
        return Ok(());
    }
    let list = SUPPORTED.iter().map(|(c, _, _)| *c).collect::<Vec<_>>().join("、");
    Err(Refusal::new(
        "unsupported_infno",
        format!("不支持的交易编号“{infno}”；本系统支持：{list}"),
        format!("transaction \"{infno}\" is not supported; supported: {list}"),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, TIME_FORMAT).unwrap()
    }

    fn figures(id: &str, medfee: i64, fund: i64) -> SettlementFigures {
        SettlementFigures {
            setl_id: id.into(),
            mdtrt_id: String::new(),
            medfee_sumamt: crate::Fen::from_fen(medfee),
            fund_pay_sumamt: crate::Fen::from_fen(fund),
            acct_pay: crate::Fen::ZERO,
        }
    }

    #[test]
    fn absurd_fields_and_times_are_refused() {
        let long = "9".repeat(MAX_FIELD_CHARS + 1);
        let input = serde_json::json!({ "mdtrtinfo": { "ipt_no": long }, "diseinfo": [{ "diag_code": "I10" }] });
        assert_eq!(check_field_lengths(&input).unwrap_err().code, "field_too_long");
        assert!(check_field_lengths(&input).unwrap_err().message.en.contains("input.mdtrtinfo.ipt_no"));
        let fine = serde_json::json!({ "mdtrtinfo": { "ipt_no": "9".repeat(MAX_FIELD_CHARS) } });
        assert!(check_field_lengths(&fine).is_ok());
        let now = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap().and_hms_opt(10, 0, 0).unwrap();
        let at = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(8, 0, 0).unwrap();
        assert_eq!(check_event_time("begntime", at(9999, 12, 31), now).unwrap_err().code, "bad_time");
        assert_eq!(check_event_time("begntime", at(1999, 12, 31), now).unwrap_err().code, "bad_time");
        assert!(check_event_time("begntime", at(2026, 12, 7), now).is_ok());
        assert!(check_event_time("begntime", at(2020, 1, 1), now).is_ok());
    }

    #[test]
    fn details_reconcile_one_by_one() {
        let ours = [figures("S1", 100, 60), figures("S2", 200, 120), figures("S3", 300, 200)];
        assert!(reconcile_details(&ours, &ours).is_empty());
        let theirs = [figures("S1", 100, 60), figures("S3", 300, 199), figures("S4", 50, 10)];
        let d = reconcile_details(&ours, &theirs);
        let got: Vec<(&str, &str)> = d.iter().map(|x| (x.setl_id.as_str(), x.result.code())).collect();
        assert_eq!(got, [("S2", "1"), ("S3", "3"), ("S4", "2")]);
        assert_eq!(d[1].theirs.as_ref().unwrap().fund_pay_sumamt, crate::Fen::from_fen(199));
    }

    #[test]
    fn sm2_signatures_verify_only_with_the_registered_key_and_body() {
        let body = br#"{"infno":"9001","msgid":"H62030200001202611230930000001"}"#;
        let private = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
        let (sig, public) = sign_sm2(private, body).unwrap();
        assert_eq!(sig.len(), 128, "r‖s");
        assert!(public.starts_with("04") && public.len() == 130, "{public}");
        assert_eq!(check_sm2_public_key(&public), Ok(()));
        assert_eq!(verify_sm2(&public, body, &sig), Ok(()));
        assert_eq!(verify_sm2(&public, b"{}", &sig).unwrap_err().code, "bad_signature");
        let (_, other) = sign_sm2("0101010101010101010101010101010101010101010101010101010101010101", body).unwrap();
        assert_eq!(verify_sm2(&other, body, &sig).unwrap_err().code, "bad_signature");
        assert_eq!(verify_sm2(&public, body, "zz").unwrap_err().code, "bad_signature");
        assert_eq!(check_sm2_public_key("04abcd").unwrap_err().code, "bad_public_key");
        // Named SM2, a request is never checked as an HMAC.
        assert_eq!(SignType::parse("sm2").unwrap(), SignType::Sm2);
        assert_eq!(SignType::Sm2.verify(b"secret", body, &sig).unwrap_err().code, "bad_signature");
    }

    #[test]
    fn signatures_verify_only_with_the_right_secret_body_and_type() {
        let body = br#"{"infno":"9001","msgid":"H62030200001202611230930000001"}"#;
        for t in [SignType::HmacSm3, SignType::HmacSha256] {
            let sig = t.sign(b"secret", body);
            assert_eq!(sig.len(), 64);
            assert_eq!(t.verify(b"secret", body, &sig), Ok(()));
            assert_eq!(t.verify(b"other", body, &sig).unwrap_err().code, "bad_signature");
            assert_eq!(t.verify(b"secret", b"{}", &sig).unwrap_err().code, "bad_signature");
            assert_eq!(t.verify(b"secret", body, "zz").unwrap_err().code, "bad_signature");
        }
        // The two algorithms give different signatures; one does not pass for the other.
        let sm3 = SignType::HmacSm3.sign(b"secret", body);
        assert_eq!(SignType::HmacSha256.verify(b"secret", body, &sm3).unwrap_err().code, "bad_signature");
        assert_eq!(SignType::parse("hmac-sha256").unwrap(), SignType::HmacSha256);
        assert_eq!(SignType::parse("").unwrap(), SignType::HmacSm3);
        assert_eq!(SignType::parse("MD5").unwrap_err().code, "bad_signtype");
    }

    #[test]
    fn hmac_sm3_agrees_with_openssl() {
        // RFC 2202's first HMAC case ("Jefe"), over SM3; the expected value is what another
        // implementation prints: `printf 'what do ya want for nothing?' | openssl dgst -sm3 -hmac Jefe`.
        let mac = SignType::HmacSm3.sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(mac, "2e87f1d16862e6d964b50a5200bf2b10b764faa9680a296a2405f24bec39f882");
    }

    #[test]
    fn the_time_window_is_five_minutes_either_way() {
        let now = at("2026-11-23 09:30:00");
        assert!(check_time("2026-11-23 09:35:00", now).is_ok());
        assert!(check_time("2026-11-23 09:25:00", now).is_ok());
        assert_eq!(check_time("2026-11-23 09:35:01", now).unwrap_err().code, "stale_time");
        assert_eq!(check_time("2026-11-23 09:24:59", now).unwrap_err().code, "stale_time");
        assert_eq!(check_time("2026/11/23 09:30", now).unwrap_err().code, "bad_time");
    }

    #[test]
    fn msgids_and_transaction_codes() {
        assert!(check_msgid("H62030200001202611230930000001", "H62030200001").is_ok());
        assert_eq!(check_msgid("H62030200002202611230930000001", "H62030200001").unwrap_err().code, "bad_msgid");
        assert_eq!(check_msgid("H6203020000120261123093000001", "H62030200001").unwrap_err().code, "bad_msgid");
        assert!(check_infno("1101").is_ok());
        assert!(check_infno("2304").is_ok());
        let e = check_infno("4101").unwrap_err();
        assert!(e.code == "unsupported_infno" && e.message.zh.contains("9001、1101、2401"), "{e:?}");
    }
}
