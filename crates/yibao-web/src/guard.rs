//! Bounds on the text of every body the API and the portal accept, before any handler reads
//! it: each field's text is checked by [`yibao_core::text::check`] (at most 1,000 characters,
//! a whole document field 200,000; no control or text-direction character; a date's year
//! between 1900 and 2099). JSON and URL-encoded bodies are checked here as they arrive;
//! multipart forms are checked field by field as they are read (see `forms::upload`). The
//! platform interface has checks of its own (`yibao_core::platform::check_field_lengths`).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use yibao_core::text::{self, MAX_DOCUMENT_CHARS, MAX_TEXT_CHARS};

use crate::error::AppError;

/// The largest JSON or URL-encoded body read (files come as multipart or raw uploads).
pub const TEXT_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Checks one field of a form or a JSON body; `name` is the field's name, `path` where it is.
pub fn check_field(name: &str, path: &str, value: &str) -> Result<(), AppError> {
    let max = if name == "document" { MAX_DOCUMENT_CHARS } else { MAX_TEXT_CHARS };
    text::check(path, value, max)
        .map_err(|r| AppError::new(StatusCode::UNPROCESSABLE_ENTITY, r.code, &r.message.zh, &r.message.en))
}

/// Checks an uploaded file's name (as the person's computer called it).
pub fn check_file_name(name: &str) -> Result<(), AppError> {
    check_field("file_name", "file_name", name)
}

/// The middleware: a JSON or URL-encoded body of a request that changes something is read,
/// checked, and handed on unchanged; a refused one is answered before any handler runs.
pub async fn check_text(req: Request, next: Next) -> Response {
    let kind = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    // As axum's extractors read it: case aside, parameters aside, `+json` suffixes too.
    let essence = kind.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let json = essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"));
    let form = essence == "application/x-www-form-urlencoded";
    let changes = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    if !changes || !(json || form) || req.uri().path().starts_with("/fsi/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, TEXT_BODY_LIMIT).await else {
        return AppError::rejected(StatusCode::PAYLOAD_TOO_LARGE, "").into_response();
    };
    let checked = if json {
        // A body that is not JSON is left to the handler's extractor to refuse.
        serde_json::from_slice::<serde_json::Value>(&bytes).map_or(Ok(()), |v| check_json(&v, "", ""))
    } else {
        form_urlencoded_pairs(&bytes).try_for_each(|(k, v)| check_field(&k, &k, &v))
    };
    if let Err(e) = checked {
        return e.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// Every string of a JSON value, with the name of its field and where it is.
fn check_json(v: &serde_json::Value, name: &str, path: &str) -> Result<(), AppError> {
    match v {
        serde_json::Value::String(s) => check_field(name, if path.is_empty() { "body" } else { path }, s),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().try_for_each(|(i, item)| check_json(item, name, &format!("{path}[{i}]")))
        }
        serde_json::Value::Object(fields) => fields.iter().try_for_each(|(k, item)| {
            check_field("key", "key", k)?;
            check_json(item, k, &if path.is_empty() { k.clone() } else { format!("{path}.{k}") })
        }),
        _ => Ok(()),
    }
}

/// The pairs of a URL-encoded body, decoded.
fn form_urlencoded_pairs(bytes: &[u8]) -> impl Iterator<Item = (String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).unwrap_or_default().into_iter()
}
