//! Forms that may carry a file: `multipart/form-data` (a file input) or plain URL-encoded
//! (no file), read into the same form type so one handler serves both.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, StatusCode};
use axum::Form;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// One uploaded file, not yet checked (see `yibao_core::document::check_file`).
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// The error for a form body that cannot be read.
pub fn unreadable<E>(_: E) -> AppError {
    AppError::new(
        StatusCode::BAD_REQUEST,
        "bad_upload",
        "上传的表单无法读取，请重试",
        "the uploaded form could not be read; please try again",
    )
}

/// The file a form must carry, or the error that asks for it.
pub fn required_file(file: Option<Upload>) -> Result<Upload, AppError> {
    file.ok_or_else(|| {
        AppError::validation(vec![yibao_core::InvalidValue::new(
            "file",
            "required",
            "请选择要上传的文件（表单字段 file）",
            "choose a file to upload (the form field `file`)",
        )])
    })
}

/// A form of type `T` and the file sent in its `file` field, if one was chosen.
pub struct FormWithFile<T> {
    pub form: T,
    pub file: Option<Upload>,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for FormWithFile<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let FormWithFiles { form, mut files } = FormWithFiles::from_request(req, state).await?;
        let file = files.iter().position(|(name, _)| name == "file").map(|i| files.swap_remove(i).1);
        Ok(FormWithFile { form, file })
    }
}

/// A form of type `T` and every file chosen in it, by the name of its input.
pub struct FormWithFiles<T> {
    pub form: T,
    pub files: Vec<(String, Upload)>,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for FormWithFiles<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            let Form(form) = Form::<T>::from_request(req, state).await.map_err(unreadable)?;
            return Ok(FormWithFiles { form, files: Vec::new() });
        }
        let mut parts = Multipart::from_request(req, state).await.map_err(unreadable)?;
        let mut fields = serde_json::Map::new();
        let mut files = Vec::new();
        while let Some(field) = parts.next_field().await.map_err(too_large_or_unreadable)? {
            let name = field.name().unwrap_or("").to_string();
            if field.file_name().is_some() || name == "file" {
                let file_name = field.file_name().unwrap_or("").to_string();
                crate::guard::check_file_name(&file_name)?;
                let bytes = field.bytes().await.map_err(too_large_or_unreadable)?.to_vec();
                // An empty file input sends an empty part with no name.
                if !(bytes.is_empty() && file_name.is_empty()) {
                    files.push((name, Upload { file_name, bytes }));
                }
            } else {
                let text = field.text().await.map_err(too_large_or_unreadable)?;
                crate::guard::check_field(&name, &name, &text)?;
                fields.insert(name, serde_json::Value::String(text));
            }
        }
        let form = serde_json::from_value(serde_json::Value::Object(fields)).map_err(unreadable)?;
        Ok(FormWithFiles { form, files })
    }
}

fn too_large_or_unreadable(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        let mb = yibao_core::document::MAX_DOCUMENT_BYTES / 1024 / 1024;
        return AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &format!("文件超过 {mb} MB，请压缩或分页后再上传"),
            &format!("the file is over {mb} MB; compress or split it"),
        );
    }
    unreadable(e)
}
