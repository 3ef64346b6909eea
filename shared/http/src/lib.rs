//! The inbound HTTP adapter: the API as library functions over `lambda_http::Request`. Each
//! handler reads who is calling and what they ask from one request, calls one use case on
//! `Bookings`, and answers (errors included) with SPEC's JSON shapes; it decides nothing
//! itself. The same functions run in Lambda (one per function crate) and behind the dev
//! server's router.

pub mod auth;
pub mod error;
pub mod handlers;
pub mod openapi;
pub mod routes;
pub mod statement_file;
pub mod views;

use error::ApiError;
use kikao_core::bookings::{Bookings, Caller};
use kikao_core::domain::{Session, SessionId};
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use views::SessionView;

/// Runs one handler inside its request's span, so every line it logs carries the request id
/// (API Gateway's, which is also in the access log) and the caller's user id, then logs one
/// line with the status and time taken. Lambda's `serve` and the dev server both call this.
pub async fn handle(app: &Bookings, handler: routes::Handler, req: Request) -> Response<Body> {
    use tracing::Instrument;
    let (request_id, route) = match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => (
            ctx.request_id.clone().unwrap_or_default(),
            ctx.route_key.clone().unwrap_or_default(),
        ),
        #[allow(unreachable_patterns)]
        _ => (String::new(), String::new()),
    };
    let user_id = auth::subject(&req).unwrap_or_default();
    let span = tracing::info_span!("request", %request_id, %user_id, %route);
    async move {
        let started = std::time::Instant::now();
        let res = handler(app, req).await;
        let status = res.status().as_u16();
        let ms = started.elapsed().as_secs_f64() * 1e3;
        if res.status().is_server_error() {
            tracing::error!(status, ms, "handled");
        } else {
            tracing::info!(status, ms, "handled");
        }
        res
    }
    .instrument(span)
    .await
}

/// Largest request body accepted; every field of the API fits well within it.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The one larger body: an M-Pesa statement of at most 4 MB, base64 in JSON, under Lambda's
/// 6 MB request limit with room for the headers.
pub const MAX_STATEMENT_BODY_BYTES: usize = 5_700_000;

pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    let text = serde_json::to_string(body).expect("views serialize");
    let mut res = Response::new(Body::Text(text));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub fn error_response(e: &ApiError) -> Response<Body> {
    let mut res = json(
        e.status,
        &match &e.field {
            Some(f) => {
                serde_json::json!({"error": {"code": e.code, "message": e.message, "field": f}})
            }
            None => serde_json::json!({"error": {"code": e.code, "message": e.message}}),
        },
    );
    if let Some(secs) = e.retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

/// Every handler ends here, so no failure escapes as a runtime error (which API Gateway would
/// turn into a bare 500).
pub fn respond(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    result.unwrap_or_else(|e| error_response(&e))
}

fn body_bytes(req: &Request, limit: usize) -> Result<&[u8], ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > limit {
        return Err(ApiError::too_large(format!(
            "The request body is larger than {} KB.",
            limit / 1024
        )));
    }
    Ok(bytes)
}

fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => format!("The JSON body has the wrong shape: {e}."),
            _ => "The body is not valid JSON.".to_owned(),
        };
        ApiError::malformed(what)
    })
}

/// A required JSON body.
pub fn read_json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    read_json_up_to(req, MAX_BODY_BYTES)
}

/// A required JSON body of at most `limit` bytes.
pub fn read_json_up_to<T: DeserializeOwned>(req: &Request, limit: usize) -> Result<T, ApiError> {
    let bytes = body_bytes(req, limit)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::malformed("This request needs a JSON body."));
    }
    parse_body(bytes)
}

/// A JSON body that may be left out (as on `DELETE /api/sessions/{id}`).
pub fn read_optional_json<T: DeserializeOwned + Default>(req: &Request) -> Result<T, ApiError> {
    let bytes = body_bytes(req, MAX_BODY_BYTES)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_body(bytes)
}

/// The `{id}` path parameter. A malformed id names no booking, so it is a 404 like any other.
pub fn session_id(req: &Request) -> Result<SessionId, ApiError> {
    req.path_parameters_ref()
        .and_then(|p| p.first("id"))
        .and_then(SessionId::parse)
        .ok_or_else(ApiError::session_not_found)
}

/// `If-Match: "<version>"` (optional): the version of the booking the caller acted on. Two
/// people acting on the same version: one wins, the other is told it changed.
pub fn expected_version(req: &Request) -> Result<Option<u64>, ApiError> {
    let Some(v) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = v.to_str().unwrap_or("").trim();
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| {
            ApiError::malformed("If-Match must be the booking's version in quotes, such as \"3\".")
        })
}

/// The session as `caller` sees it.
pub fn session_response(
    app: &Bookings,
    caller: &Caller,
    s: &Session,
    status: StatusCode,
) -> Response<Body> {
    json(
        status,
        &SessionView::new(s, caller.role, app.clock.now(), app.policy()),
    )
}
