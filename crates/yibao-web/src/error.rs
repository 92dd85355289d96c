//! One error type for handlers. A handler returns `AppError`; the `render_errors`
//! middleware, which knows the request's language, id and kind (API or page), turns it into
//! an RFC 9457 `application/problem+json` body or a bilingual error page.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use yibao_core::{InvalidValue, Text};
use yibao_store::StoreError;

#[derive(Debug, Clone)]
pub struct AppError {
    pub status: StatusCode,
    /// Stable machine code, e.g. `validation`, `forbidden`.
    pub code: &'static str,
    pub message: Text,
    pub field_errors: Vec<InvalidValue>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, zh: &str, en: &str) -> Self {
        Self { status, code, message: Text::new(zh, en), field_errors: Vec::new() }
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "请先登录", "please log in first")
    }

    /// The account's password was set by someone else and must be changed first.
    pub fn password_change_required() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "password_change_required",
            "请先修改初始密码（由他人设置的密码须由本人修改后才能使用本系统）",
            "change the password first: a password someone else set must be replaced by your own before anything else",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "您的角色无权执行此操作", "your role is not allowed to do this")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("未找到该{}，或不在您的管辖范围内", zh_entity(what)),
            &format!("no such {what}, or it is outside your regions"),
        )
    }

    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "页面已过期或请求来源无效，请刷新页面后重试",
            "the page has expired or the request did not come from yibao; reload the page and try again",
        )
    }

    pub fn validation(errors: Vec<InvalidValue>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation",
            message: Text::new("提交的信息有误，请按提示修改", "some of the values are invalid; please correct them"),
            field_errors: errors,
        }
    }

    /// A request refused before any handler saw it (axum's rejection, `detail` its text).
    pub fn rejected(status: StatusCode, detail: &str) -> Self {
        let (code, zh, en) = match status {
            StatusCode::PAYLOAD_TOO_LARGE => (
                "too_large",
                "提交的内容过大，请缩小文件或分批提交".to_string(),
                "the request is too large".to_string(),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "请求的内容类型不受支持（接口请使用 application/json）".to_string(),
                "the request's content type is not supported (the API takes application/json)".to_string(),
            ),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "该地址不支持此操作".to_string(),
                "this address does not take this method".to_string(),
            ),
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => (
                "malformed",
                format!("提交的内容格式不正确，请检查后重试（{detail}）"),
                format!("the request could not be read: {detail}"),
            ),
            _ => ("rejected", format!("请求被拒绝（{detail}）"), format!("the request was refused: {detail}")),
        };
        Self { status, code, message: Text::new(zh, en), field_errors: Vec::new() }
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "系统内部错误，请稍后重试；如问题持续，请将请求编号告知管理员",
            "internal error; please try again later, and give the request id to an administrator if it persists",
        )
    }
}

fn zh_entity(what: &str) -> &'static str {
    match what {
        "person" => "参保人",
        "employer" => "参保单位",
        "institution" => "医疗机构",
        "account" => "账号",
        "policy" => "政策",
        "catalog" | "catalog_import" => "目录",
        "rule base" => "监管规则库",
        "supervision hit" => "监管疑点",
        _ => "记录",
    }
}

impl From<InvalidValue> for AppError {
    fn from(e: InvalidValue) -> Self {
        AppError::validation(vec![e])
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => AppError::not_found(what),
            StoreError::Invalid(v) => AppError::validation(vec![v]),
            StoreError::Problems(v) => AppError::validation(v),
            StoreError::Duplicate { what } => {
                let mut err = AppError::new(
                    StatusCode::CONFLICT,
                    "duplicate",
                    "该记录已存在，不能重复登记",
                    "this record already exists and cannot be registered twice",
                );
                err.field_errors.push(InvalidValue::new(
                    what,
                    "duplicate",
                    "已被登记，请先检索已有记录",
                    "is already registered; search for the existing record",
                ));
                err
            }
            StoreError::Stale(_) => AppError::new(
                StatusCode::CONFLICT,
                "stale",
                "该记录已被他人修改，请刷新后重新编辑",
                "someone else changed this record meanwhile; reload it and edit again",
            ),
            StoreError::Unwritable(reason) => {
                tracing::error!(%reason, "the database cannot be written");
                AppError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "系统暂时无法保存（数据库磁盘已满或只读），本次操作未保存任何内容，请稍后重试",
                    "yibao cannot save anything just now (the database's disk is full or read-only); \
                     nothing of this request was stored, try again later",
                )
            }
            other => {
                tracing::error!(error = %other, "storage error");
                AppError::internal()
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut res = self.status.into_response();
        res.extensions_mut().insert(self);
        res
    }
}

/// An RFC 9457 problem document, with yibao's stable code and both languages.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
    pub zh: String,
    pub en: String,
    pub request_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub zh: String,
    pub en: String,
}

impl Problem {
    pub fn from_error(e: &AppError, lang: yibao_core::Lang, request_id: &str) -> Problem {
        Problem {
            kind: format!("/problems/{}", e.code),
            title: e.status.canonical_reason().unwrap_or("Error").to_string(),
            status: e.status.as_u16(),
            detail: e.message.get(lang).to_string(),
            code: e.code.to_string(),
            zh: e.message.zh.clone(),
            en: e.message.en.clone(),
            request_id: request_id.to_string(),
            errors: e
                .field_errors
                .iter()
                .map(|f| FieldProblem {
                    field: f.field.to_string(),
                    code: f.code.to_string(),
                    zh: f.message.zh.clone(),
                    en: f.message.en.clone(),
                })
                .collect(),
        }
    }
}
