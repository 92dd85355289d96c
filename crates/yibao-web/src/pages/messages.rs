//! 「消息」: what yibao told the insured person, newest first — a claim returned or decided,
//! money paid or refused by the bank, a filing decided, where their money goes — each with the
//! page it concerns. Opening the inbox reads them.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::shared::{my_person_id, when};
use super::{render, Ctx};
use crate::context::Caller;
use crate::error::AppError;
use crate::SharedState;

#[derive(Template)]
#[template(path = "my_messages.html")]
struct MessagesPage {
    ctx: Ctx,
    /// (when, what, the page it concerns, unread)
    rows: Vec<(String, String, String, bool)>,
}

/// `GET /my/messages`: the person's messages; they are read once shown.
pub async fn my_messages(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    let person = my_person_id(&caller)?;
    let notices = state.store.notices_of(person, 200).await?;
    let rows = notices
        .iter()
        .map(|n| (when(&n.at), n.text.get(caller.lang).to_string(), n.link.clone().unwrap_or_default(), !n.read))
        .collect();
    if notices.iter().any(|n| !n.read) {
        let mut w = state.store.begin_write(&caller.actor()).await?;
        state.store.mark_notices_read(&mut w, person).await?;
        w.commit().await?;
    }
    // The header counts what was unread before this page: it is read now.
    let mut ctx = Ctx::for_caller(&caller, "/my/messages");
    ctx.unread = 0;
    Ok(render(&MessagesPage { ctx, rows })?.into_response())
}
