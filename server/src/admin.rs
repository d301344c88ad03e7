//! The decision log's routes: labels, a decision and its labels, the review
//! queue. Every one needs an admin bearer token (`--admin-token-file`);
//! without a token file they answer 403 (off). `/predict` is unchanged.
//!
//! Database work runs on tokio's blocking pool: the log's admin connection is
//! synchronous, and must not stall the threads that serve `/predict`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use contract::log::{
    is_list_name, is_list_value, is_printable, parse_time_ms, LabelBody, ListAddition, ReviewClose, ReviewClosed,
    MAX_LIST_VALUE_CHARS, MAX_SOURCE_CHARS, MAX_TEXT_CHARS,
};
use contract::{to_json, ApiError, ErrorCode, FieldError, MAX_ID_CHARS};
use decision_log::{Log, LogError};
use http_api::HttpError;
use serde::de::DeserializeOwned;

use crate::log::http_error;
use crate::tokens::Tokens;

/// Largest admin request body.
pub const MAX_ADMIN_BODY_BYTES: usize = 64 * 1024;
/// Most cases `GET /reviews` lists at once.
pub const MAX_REVIEWS: usize = 1000;

/// What the admin routes need.
pub struct Admin {
    /// The log.
    pub log: Arc<Log>,
    /// Who may call them (none: the routes are off).
    pub tokens: Option<Tokens>,
    /// The rules' lists folder, where a review's `add_to_list` appends (none: refused).
    pub lists: Option<PathBuf>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("log", &self.log.shown())
            .field("tokens", &self.tokens)
            .field("lists", &self.lists)
            .finish()
    }
}

/// The admin routes (merged into the server's Router).
pub fn routes(admin: Arc<Admin>) -> Router {
    Router::new()
        .route("/labels", post(post_label))
        .route("/decisions/{id}", get(get_decision))
        .route("/reviews", get(get_reviews))
        .route("/reviews/{id}", post(post_review))
        .with_state(admin)
}

fn json(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response()
}

/// The caller's token name, or the 401/403 to answer.
#[allow(clippy::result_large_err)] // Answered at once, never propagated through layers.
pub(crate) fn authorize<'a>(tokens: Option<&'a Tokens>, headers: &HeaderMap) -> Result<&'a str, Response> {
    let Some(tokens) = tokens else {
        return Err(HttpError::new(
            ErrorCode::Forbidden,
            "the admin routes are off: start fraud-server with --admin-token-file to turn them on",
        )
        .into_response());
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let message = match presented {
        None => "this route needs an admin token: send `Authorization: Bearer TOKEN`",
        Some(token) => match tokens.check(token) {
            Some(name) => return Ok(name),
            None => "the admin token is not valid",
        },
    };
    let mut response = HttpError::new(ErrorCode::Unauthorized, message).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    Err(response)
}

/// [`authorize`] for a route with a body: refused, the body is read anyway (an unread one makes
/// hyper close the connection); allowed, it is handed back with the caller's name.
#[allow(clippy::result_large_err)]
pub(crate) async fn authorize_with_body(
    tokens: Option<&Tokens>,
    headers: &HeaderMap,
    body: Body,
    max_body: usize,
) -> Result<(String, Body), Response> {
    match authorize(tokens, headers) {
        Ok(who) => Ok((who.to_string(), body)),
        Err(denied) => {
            let _ = axum::body::to_bytes(body, max_body).await;
            Err(denied)
        }
    }
}

async fn read_json<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, HttpError> {
    // The contract's reader: content type, size limit, and a body read whatever is wrong.
    let bytes = http_api::read_body(headers, body, MAX_ADMIN_BODY_BYTES).await?;
    serde_json::from_slice(&bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            HttpError::new(ErrorCode::InvalidFields, format!("the body is not valid: {e}"))
        }
        _ => HttpError::new(ErrorCode::MalformedJson, format!("the body is not JSON: {e}")),
    })
}

fn invalid(field: &str, message: String) -> HttpError {
    let mut e = ApiError::new(ErrorCode::InvalidFields, format!("{field}: {message}"));
    e.fields.push(FieldError { field: field.to_string(), code: ErrorCode::InvalidFields });
    HttpError::from(e)
}

/// A transaction id: any text of 1 to `MAX_ID_CHARS` characters (as a request's id may be).
fn check_id(field: &str, id: &str) -> Result<(), HttpError> {
    let n = id.chars().count();
    if n == 0 || n > MAX_ID_CHARS {
        return Err(invalid(field, format!("must be 1 to {MAX_ID_CHARS} characters")));
    }
    Ok(())
}

/// 1 to `max` characters of printable text on one line, no surrounding spaces.
fn check_text(field: &str, text: &str, max: usize) -> Result<(), HttpError> {
    if !is_printable(text) || text.chars().count() > max {
        return Err(invalid(
            field,
            format!("must be 1 to {max} characters of printable text without surrounding spaces"),
        ));
    }
    Ok(())
}

/// Runs `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, LogError> + Send + 'static,
) -> Result<T, HttpError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|e| http_error(&e)),
        Err(_) => Err(http_error(&LogError::Unavailable("the log's worker stopped".into()))),
    }
}

/// `POST /labels`.
async fn post_label(State(admin): State<Arc<Admin>>, headers: HeaderMap, body: Body) -> Response {
    let (who, body) = match authorize_with_body(admin.tokens.as_ref(), &headers, body, MAX_ADMIN_BODY_BYTES).await {
        Ok(authorized) => authorized,
        Err(denied) => return denied,
    };
    let result = async {
        let label: LabelBody = read_json(&headers, body).await?;
        check_id("id", &label.id)?;
        check_text("source", &label.source, MAX_SOURCE_CHARS)?;
        let observed = parse_time_ms(&label.observed_at).map_err(|m| invalid("observed_at", m))?;
        let log = admin.log.clone();
        let stored = blocking(move || log.label(&label.id, label.label, &label.source, observed, &who)).await?;
        Ok::<_, HttpError>(json(to_json(&stored)))
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

fn path_id(id: Result<Path<String>, axum::extract::rejection::PathRejection>) -> Result<String, HttpError> {
    let Path(id) = id.map_err(|e| HttpError::new(ErrorCode::InvalidParameter, format!("the id in the path: {e}")))?;
    check_id("id", &id).map_err(|_| {
        HttpError::new(
            ErrorCode::InvalidParameter,
            format!("the id in the path must be 1 to {MAX_ID_CHARS} characters"),
        )
    })?;
    Ok(id)
}

/// `GET /decisions/{id}`.
async fn get_decision(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    if let Err(denied) = authorize(admin.tokens.as_ref(), &headers) {
        return denied;
    }
    let result = async {
        let id = path_id(id)?;
        let log = admin.log.clone();
        let shown: String = id.chars().take(100).collect();
        match blocking(move || log.decision(&id)).await? {
            Some(view) => Ok(json(to_json(&view))),
            None => Err(HttpError::new(ErrorCode::NotFound, format!("no decision with id {shown:?} is in the log"))),
        }
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /reviews?status=open&limit=50`.
async fn get_reviews(State(admin): State<Arc<Admin>>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(denied) = authorize(admin.tokens.as_ref(), &headers) {
        return denied;
    }
    let result = async {
        let mut status = "open".to_string();
        let mut limit = 50usize;
        for pair in uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "status" if value == "open" || value == "closed" => status = value.to_string(),
                "status" => {
                    return Err(HttpError::new(ErrorCode::InvalidParameter, "status must be open or closed"));
                }
                "limit" => match value.parse::<usize>() {
                    Ok(n) if (1..=MAX_REVIEWS).contains(&n) => limit = n,
                    _ => {
                        return Err(HttpError::new(
                            ErrorCode::InvalidParameter,
                            format!("limit must be a whole number from 1 to {MAX_REVIEWS}"),
                        ))
                    }
                },
                _ => {}
            }
        }
        let log = admin.log.clone();
        let cases = blocking(move || log.reviews(&status, limit)).await?;
        Ok(json(to_json(&cases)))
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

fn check_addition(admin: &Admin, add: &ListAddition) -> Result<PathBuf, HttpError> {
    if !is_list_name(&add.list) {
        return Err(invalid("add_to_list.list", "a list name is letters, digits, _ . - (not starting with .)".into()));
    }
    if !is_list_value(&add.value) {
        return Err(invalid(
            "add_to_list.value",
            format!(
                "a list value is 1 to {MAX_LIST_VALUE_CHARS} characters of printable text, not starting with # \
                 (a comment in list files)"
            ),
        ));
    }
    match &admin.lists {
        Some(dir) => Ok(dir.join(format!("{}.txt", add.list))),
        None => {
            Err(invalid("add_to_list", "this server has no lists folder (start it with --rules, or --lists)".into()))
        }
    }
}

/// Appends one line and fsyncs it (the rules pick it up on their next reload).
fn append_line(path: &std::path::Path, value: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the lists folder {}: {e}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open the list {}: {e}", path.display()))?;
    // A list that does not end in a newline must not glue the value to its last line.
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let needs_newline = len > 0 && {
        use std::io::{Read, Seek, SeekFrom};
        let mut last = [0u8; 1];
        std::fs::File::open(path)
            .and_then(|mut f| f.seek(SeekFrom::End(-1)).and_then(|_| f.read_exact(&mut last)))
            .map(|()| last[0] != b'\n')
            .unwrap_or(true)
    };
    let line = if needs_newline { format!("\n{value}\n") } else { format!("{value}\n") };
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write the list {}: {e}", path.display()))
}

/// `POST /reviews/{id}`.
async fn post_review(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    body: Body,
) -> Response {
    let (who, body) = match authorize_with_body(admin.tokens.as_ref(), &headers, body, MAX_ADMIN_BODY_BYTES).await {
        Ok(authorized) => authorized,
        Err(denied) => return denied,
    };
    let result = async {
        let id = path_id(id)?;
        let close: ReviewClose = read_json(&headers, body).await?;
        if let Some(note) = &close.note {
            if note.chars().count() > MAX_TEXT_CHARS {
                return Err(invalid("note", format!("at most {MAX_TEXT_CHARS} characters")));
            }
        }
        let list_file = close.add_to_list.as_ref().map(|add| check_addition(&admin, add)).transpose()?;
        let log = admin.log.clone();
        let (id2, who2, close2) = (id.clone(), who.clone(), close.clone());
        blocking(move || {
            let mut add = || match (&list_file, &close2.add_to_list) {
                (Some(path), Some(addition)) => append_line(path, &addition.value),
                _ => Ok(()),
            };
            log.close_review(&id2, &close2, &who2, &mut add)
        })
        .await?;
        let closed = ReviewClosed { id, outcome: close.outcome, closed_by: who, added_to_list: close.add_to_list };
        Ok(json(to_json(&closed)))
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}
