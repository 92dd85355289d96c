//! Payment gateways for online contributions. A gateway takes the payer's browser to its own
//! pay page and later tells yibao, in a signed notification sent to
//! `/api/v1/pay/notify/{gateway}`, whether the order was paid. Only a notification whose
//! signature verifies marks an order paid (`Store::process_payment_notice`); the browser
//! coming back proves nothing.
//!
//! [`Simulated`] ships for the demo and the tests: its pay page is served by yibao itself at
//! `/sim-pay/{order}`, and its notifications are signed with HMAC-SHA256 under a secret made
//! at random when the process starts, so nobody outside can forge one. [`wechat::WechatPay`]
//! reads WeChat Pay's (API v3) notifications.

use axum::http::HeaderMap;

pub mod wechat;
use yibao_core::platform::SignType;
use yibao_core::{Fen, Text};
use yibao_store::{GatewayNotice, OnlineOrder};

/// Why a notification was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayError(pub Text);

/// A payment gateway yibao sends payers to.
pub trait PaymentGateway: Send + Sync {
    /// The gateway's name, as orders and the notification path carry it.
    fn name(&self) -> &'static str;
    /// Where the payer's browser goes to pay `order`.
    fn pay_url(&self, order: &OnlineOrder) -> String;
    /// Verifies a notification as received (headers and body) and reads it.
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<GatewayNotice, GatewayError>;
    /// The simulator's own notification for `order` (paid or not), signed; `None` for a
    /// real gateway.
    fn simulate(&self, _order: &OnlineOrder, _paid: bool) -> Option<(String, Vec<u8>)> {
        None
    }
}

/// The simulated gateway of the demo and the tests.
pub struct Simulated {
    secret: [u8; 32],
}

/// The header carrying the simulator's signature (hex HMAC-SHA256 of the body).
pub const SIM_SIGNATURE: &str = "x-sim-signature";

impl Simulated {
    /// A simulator with a secret made at random now.
    pub fn new() -> Simulated {
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut secret);
        Simulated { secret }
    }
}

impl Default for Simulated {
    fn default() -> Self {
        Simulated::new()
    }
}

fn refused(zh: &str, en: &str) -> GatewayError {
    GatewayError(Text::new(zh, en))
}

impl PaymentGateway for Simulated {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn pay_url(&self, order: &OnlineOrder) -> String {
        format!("/sim-pay/{}?key={}", order.order_no, order.view_key)
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<GatewayNotice, GatewayError> {
        let signature = headers
            .get(SIM_SIGNATURE)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| refused("缺少签名", "the signature is missing"))?;
        SignType::HmacSha256
            .verify(&self.secret, body, signature)
            .map_err(|_| refused("签名不符", "the signature does not verify"))?;
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| refused("通知格式有误", "the notification is malformed"))?;
        let text =
            |k: &str| v[k].as_str().map(str::to_string).ok_or_else(|| refused("通知缺少字段", "a field is missing"));
        Ok(GatewayNotice {
            id: text("id")?,
            order_no: text("order_no")?,
            amount: text("amount")?.parse::<Fen>().map_err(|_| refused("金额有误", "the amount is malformed"))?,
            txn: text("txn")?,
            success: text("status")? == "SUCCESS",
        })
    }

    fn simulate(&self, order: &OnlineOrder, paid: bool) -> Option<(String, Vec<u8>)> {
        let mut nonce = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
        let body = serde_json::json!({
            "id": format!("SIMN-{}", hex::encode(nonce)),
            "order_no": order.order_no,
            "amount": order.amount.to_plain(),
            "txn": format!("SIM{}", order.order_no),
            "status": if paid { "SUCCESS" } else { "FAILED" },
        })
        .to_string()
        .into_bytes();
        Some((SignType::HmacSha256.sign(&self.secret, &body), body))
    }
}
