//! WeChat Pay (API v3) payment notifications (支付结果通知). WeChat POSTs a JSON body to the
//! notify URL with four headers: `Wechatpay-Timestamp`, `Wechatpay-Nonce`,
//! `Wechatpay-Serial` (which platform key signed it) and `Wechatpay-Signature` — base64 RSA
//! PKCS#1 v1.5 SHA-256 over `timestamp\nnonce\nbody\n`. The body's `resource` is the
//! transaction encrypted with AEAD_AES_256_GCM under the merchant's API v3 key (nonce and
//! associated data beside it). Only a notification whose signature verifies under the
//! configured platform key, whose timestamp is recent, which decrypts, and which names this
//! merchant and app in yuan (CNY) is read; the order number, amount and the notification's
//! id then go to `Store::process_payment_notice`, which checks the amount against the order
//! and processes an id once.
//!
//! Creating the order at WeChat (`POST /v3/pay/transactions/h5`, whose answer carries the
//! page the payer is sent to) needs the merchant's own network access and credentials; this
//! adapter takes that page from a configured URL pattern instead (see `pay_url`).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use axum::http::HeaderMap;
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use serde::Deserialize;
use sha2::Sha256;
use yibao_core::Fen;
use yibao_store::{GatewayNotice, OnlineOrder};

use super::{refused, GatewayError, PaymentGateway};

/// The merchant's settings.
#[derive(Debug, Clone)]
pub struct WechatConfig {
    pub mchid: String,
    pub appid: String,
    /// The API v3 key (32 bytes), which decrypts notifications.
    pub api_v3_key: String,
    /// The platform certificate's (or WeChat Pay public key's) serial number.
    pub serial: String,
    /// Its public key, PEM (`-----BEGIN PUBLIC KEY-----`).
    pub public_key_pem: String,
    /// A notification older or newer than this many seconds is refused (replays).
    pub max_skew_secs: i64,
    /// Where the payer goes to pay: `{order}` is replaced by the order number.
    pub pay_url: String,
}

/// The WeChat Pay adapter.
pub struct WechatPay {
    config: WechatConfig,
    key: VerifyingKey<Sha256>,
}

impl std::fmt::Debug for WechatPay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatPay").field("mchid", &self.config.mchid).field("serial", &self.config.serial).finish()
    }
}

#[derive(Deserialize)]
struct Body {
    id: String,
    event_type: String,
    resource: Resource,
}

#[derive(Deserialize)]
struct Resource {
    algorithm: String,
    ciphertext: String,
    nonce: String,
    #[serde(default)]
    associated_data: String,
}

#[derive(Deserialize)]
struct Transaction {
    mchid: String,
    appid: String,
    out_trade_no: String,
    transaction_id: String,
    trade_state: String,
    amount: Amount,
}

#[derive(Deserialize)]
struct Amount {
    /// In fen.
    total: i64,
    currency: String,
}

impl WechatPay {
    /// The adapter, or why the settings are unusable (a key that is not 32 bytes, a public
    /// key that does not parse).
    pub fn new(config: WechatConfig) -> Result<WechatPay, String> {
        if config.api_v3_key.len() != 32 {
            return Err("the WeChat Pay API v3 key must be 32 bytes".into());
        }
        let public = RsaPublicKey::from_public_key_pem(config.public_key_pem.trim())
            .map_err(|e| format!("the WeChat Pay platform public key does not parse: {e}"))?;
        Ok(WechatPay { config, key: VerifyingKey::new(public) })
    }

    /// Verifies and reads a notification as received, at `now` (Unix seconds).
    pub fn verify_at(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<GatewayNotice, GatewayError> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| refused("缺少微信支付签名头", "a WeChat Pay signature header is missing"))
        };
        let (timestamp, nonce, serial, signature) = (
            header("Wechatpay-Timestamp")?,
            header("Wechatpay-Nonce")?,
            header("Wechatpay-Serial")?,
            header("Wechatpay-Signature")?,
        );
        if serial != self.config.serial {
            return Err(refused("签名证书序列号不是所配置的", "signed with a key other than the configured one"));
        }
        let at: i64 = timestamp.parse().map_err(|_| refused("时间戳格式有误", "the timestamp is malformed"))?;
        if (now - at).abs() > self.config.max_skew_secs {
            return Err(refused(
                "通知时间超出允许范围（可能是重放）",
                "the notification is too old or too new (a replay?)",
            ));
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|_| refused("签名格式有误", "the signature is malformed"))?;
        let signature =
            Signature::try_from(raw.as_slice()).map_err(|_| refused("签名格式有误", "the signature is malformed"))?;
        let mut message = Vec::with_capacity(body.len() + 64);
        message.extend_from_slice(timestamp.as_bytes());
        message.push(b'\n');
        message.extend_from_slice(nonce.as_bytes());
        message.push(b'\n');
        message.extend_from_slice(body);
        message.push(b'\n');
        self.key.verify(&message, &signature).map_err(|_| refused("签名不符", "the signature does not verify"))?;

        let body: Body =
            serde_json::from_slice(body).map_err(|_| refused("通知格式有误", "the notification is malformed"))?;
        if body.resource.algorithm != "AEAD_AES_256_GCM" {
            return Err(refused("不支持的加密算法", "an unsupported encryption algorithm"));
        }
        let ciphertext = base64::engine::general_purpose::STANDARD
            .decode(&body.resource.ciphertext)
            .map_err(|_| refused("密文格式有误", "the ciphertext is malformed"))?;
        if body.resource.nonce.len() != 12 {
            return Err(refused("随机串长度有误", "the nonce is not 12 bytes"));
        }
        let cipher = Aes256Gcm::new_from_slice(self.config.api_v3_key.as_bytes())
            .map_err(|_| refused("APIv3 密钥有误", "the API v3 key is unusable"))?;
        let plain = cipher
            .decrypt(
                Nonce::from_slice(body.resource.nonce.as_bytes()),
                Payload { msg: &ciphertext, aad: body.resource.associated_data.as_bytes() },
            )
            .map_err(|_| refused("通知解密失败", "the notification does not decrypt"))?;
        let tx: Transaction =
            serde_json::from_slice(&plain).map_err(|_| refused("交易内容格式有误", "the transaction is malformed"))?;
        if tx.mchid != self.config.mchid || tx.appid != self.config.appid {
            return Err(refused("商户号或应用号不是本系统的", "another merchant's or app's notification"));
        }
        if tx.amount.currency != "CNY" {
            return Err(refused("币种不是人民币", "the currency is not CNY"));
        }
        Ok(GatewayNotice {
            id: body.id,
            order_no: tx.out_trade_no,
            amount: Fen::from_fen(tx.amount.total),
            txn: tx.transaction_id,
            success: body.event_type == "TRANSACTION.SUCCESS" && tx.trade_state == "SUCCESS",
        })
    }
}

impl PaymentGateway for WechatPay {
    fn name(&self) -> &'static str {
        "wechat"
    }

    fn pay_url(&self, order: &OnlineOrder) -> String {
        self.config.pay_url.replace("{order}", &order.order_no)
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<GatewayNotice, GatewayError> {
        self.verify_at(headers, body, chrono::Utc::now().timestamp())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const RECORDED: &str = include_str!("../../tests/fixtures/wechatpay/notifications.json");
    const PUBLIC: &str = include_str!("../../tests/fixtures/wechatpay/platform-public.pem");

    fn recorded() -> serde_json::Value {
        serde_json::from_str(RECORDED).unwrap()
    }

    pub(crate) fn adapter(skew: i64) -> WechatPay {
        let r = recorded();
        WechatPay::new(WechatConfig {
            mchid: r["mchid"].as_str().unwrap().into(),
            appid: r["appid"].as_str().unwrap().into(),
            api_v3_key: r["api_v3_key"].as_str().unwrap().into(),
            serial: r["serial"].as_str().unwrap().into(),
            public_key_pem: PUBLIC.into(),
            max_skew_secs: skew,
            pay_url: "https://pay.example/{order}".into(),
        })
        .unwrap()
    }

    fn case(name: &str) -> (HeaderMap, Vec<u8>) {
        let c = &recorded()["cases"][name];
        let mut headers = HeaderMap::new();
        for (k, v) in c["headers"].as_object().unwrap() {
            headers.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.as_str().unwrap().parse().unwrap(),
            );
        }
        (headers, c["body"].as_str().unwrap().as_bytes().to_vec())
    }

    #[test]
    fn recorded_notifications_are_read_or_refused_with_why() {
        let wechat = adapter(300);
        let now = recorded()["now"].as_i64().unwrap();
        let (h, b) = case("paid");
        let n = wechat.verify_at(&h, &b, now).unwrap();
        assert_eq!(
            (n.id.as_str(), n.order_no.as_str(), n.amount, n.success),
            ("EV-0001", "YB2026112300000004", "575.40".parse().unwrap(), true)
        );
        assert_eq!(n.txn, "4200001234202611230000000001");
        // Another amount is read as sent: the store compares it with the order.
        let (h, b) = case("other_amount");
        assert_eq!(wechat.verify_at(&h, &b, now).unwrap().amount, Fen::from_fen(100));
        let (h, b) = case("not_paid");
        assert!(!wechat.verify_at(&h, &b, now).unwrap().success);
        let refusal = |name: &str| {
            let (h, b) = case(name);
            wechat.verify_at(&h, &b, now).unwrap_err().0.en
        };
        assert!(refusal("forged").contains("does not verify"));
        assert!(refusal("tampered").contains("does not decrypt"));
        assert!(refusal("another_merchant").contains("another merchant"));
        assert!(refusal("stale").contains("too old"));
        // The body changed after signing: the signature no longer verifies.
        let (h, mut b) = case("paid");
        b.extend_from_slice(b" ");
        assert!(wechat.verify_at(&h, &b, now).unwrap_err().0.en.contains("does not verify"));
        // A header missing, or another serial.
        let (mut h, b) = case("paid");
        h.remove("Wechatpay-Signature");
        assert!(wechat.verify_at(&h, &b, now).unwrap_err().0.en.contains("missing"));
        let (mut h, b) = case("paid");
        h.insert("Wechatpay-Serial", "0000".parse().unwrap());
        assert!(wechat.verify_at(&h, &b, now).unwrap_err().0.en.contains("other than the configured"));
    }

    #[test]
    fn unusable_settings_are_refused() {
        let r = recorded();
        let config = |key: &str, pem: &str| WechatConfig {
            mchid: r["mchid"].as_str().unwrap().into(),
            appid: r["appid"].as_str().unwrap().into(),
            api_v3_key: key.into(),
            serial: "S".into(),
            public_key_pem: pem.into(),
            max_skew_secs: 300,
            pay_url: String::new(),
        };
        assert!(WechatPay::new(config("short", PUBLIC)).unwrap_err().contains("32 bytes"));
        assert!(WechatPay::new(config("yibaoTestApiV3Key0123456789abcde", "not a key")).is_err());
    }
}
