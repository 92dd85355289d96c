//! Sending what yibao tells people beyond the portal. The messages are the store's (kept in
//! the transaction of what they tell of); an outbox worker hands each to a [`Notifier`] and
//! marks it sent, so that a crash between sending and marking sends it again rather than
//! never (at least once). The demo's notifier writes the SMS to the log.

use std::sync::Arc;
use std::time::Duration;

use yibao_core::Text;
use yibao_store::{Actor, Store};

/// Something that delivers a message to a person's phone.
pub trait Notifier: Send + Sync {
    fn send_sms(&self, phone: &str, text: &Text) -> Result<(), String>;
}

/// The SMS as it would go out, written to the log (the demo has no SMS gateway): the number
/// masked; the message holds no full ID or card number.
#[derive(Debug, Default)]
pub struct LogSms;

impl Notifier for LogSms {
    fn send_sms(&self, phone: &str, text: &Text) -> Result<(), String> {
        let masked: String =
            phone.chars().enumerate().map(|(i, c)| if (3..7).contains(&i) { '*' } else { c }).collect();
        tracing::info!(phone = %masked, sms = %text.zh, "SMS");
        Ok(())
    }
}

/// Sends the messages waiting for their SMS, oldest first, and marks each sent: how many.
pub async fn send_waiting(store: &Store, notifier: &dyn Notifier) -> Result<usize, yibao_store::StoreError> {
    let waiting = store.unsent_notices(100).await?;
    for m in &waiting {
        if let Some(phone) = m.phone.as_deref().filter(|p| !p.trim().is_empty()) {
            if let Err(e) = notifier.send_sms(phone, &m.text) {
                // Left unsent: the next round tries again.
                tracing::warn!(error = %e, notice = m.id, "an SMS could not be sent");
                continue;
            }
        }
        let mut w = store.begin_write(&Actor::system("sms")).await?;
        store.mark_notice_sent(&mut w, m.id).await?;
        w.commit().await?;
    }
    Ok(waiting.len())
}

/// The outbox worker: every few seconds, what waits.
pub async fn run_outbox(store: Store, notifier: Arc<dyn Notifier>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        if let Err(e) = send_waiting(&store, notifier.as_ref()).await {
            tracing::warn!(error = %e, "the SMS outbox could not be sent; it tries again");
        }
    }
}
