//! Serving the web app's built files (`serve --web-dir`): index.html fallback for client routes, no caching of the entry points.

use std::path::Path;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::services::{ServeDir, ServeFile};

use crate::state::AppState;

async fn cache_headers(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let mut resp = next.run(req).await;
    let is_entry = path == "/"
        || path.ends_with("/index.html")
        || path.ends_with("/sw.js")
        || !path.rsplit('/').next().unwrap_or_default().contains('.');
    if is_entry {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    if path.ends_with(".wasm") {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/wasm"),
        );
    }
    resp
}

/// A router serving `dir`, falling back to `dir/index.html` for unknown paths.
pub fn static_files(dir: &Path) -> Router<AppState> {
    let files = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
}
