//! Serving the web app's built files (`serve --web-dir`): index.html fallback for client routes, precompressed variants, always revalidated.

use std::path::Path;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::services::{ServeDir, ServeFile};

/// Every app file is `no-cache`: the URLs carry no version, so the browser must
/// revalidate (a 304 costs no body); the service worker is what keeps them offline.
async fn cache_headers(req: Request, next: Next) -> Response {
    let wasm = req.uri().path().ends_with(".wasm");
    let mut resp = next.run(req).await;
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if wasm {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/wasm"),
        );
    }
    resp
}

/// A router serving `dir`, falling back to `dir/index.html` for unknown paths.
/// A file's `.br` or `.gz` neighbour (written by `cargo xtask build-web`) is sent
/// instead when the request's `Accept-Encoding` allows it.
pub fn static_files<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    let index = ServeFile::new(dir.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(index);
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, header};
    use tower::ServiceExt;

    /// (Content-Encoding, Cache-Control, body) of `GET path` with `accept` as Accept-Encoding.
    async fn get(dir: &std::path::Path, path: &str, accept: &str) -> (String, String, Vec<u8>) {
        let req = Request::get(path)
            .header(header::ACCEPT_ENCODING, accept)
            .body(Body::empty())
            .expect("request");
        let resp = super::static_files::<()>(dir)
            .oneshot(req)
            .await
            .expect("response");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        let h = |name| {
            resp.headers()
                .get(name)
                .map_or("", |v| v.to_str().unwrap_or(""))
                .to_owned()
        };
        let (enc, cc) = (h(header::CONTENT_ENCODING), h(header::CACHE_CONTROL));
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        (enc, cc, body.to_vec())
    }

    #[tokio::test]
    async fn precompressed_files_go_by_accept_encoding_and_are_always_revalidated() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("index.html"), "index").expect("write");
        std::fs::write(dir.path().join("app.js"), "plain").expect("write");
        std::fs::write(dir.path().join("app.js.br"), "brotli").expect("write");
        std::fs::write(dir.path().join("app.js.gz"), "gzip").expect("write");
        let d = dir.path();
        let br = get(d, "/app.js", "gzip, deflate, br, zstd").await;
        assert_eq!(br, ("br".into(), "no-cache".into(), b"brotli".to_vec()));
        assert_eq!(get(d, "/app.js", "gzip").await.2, b"gzip");
        assert_eq!(get(d, "/app.js", "identity").await.2, b"plain");
        let route = get(d, "/dealer/d-1", "br").await;
        assert_eq!(route, (String::new(), "no-cache".into(), b"index".to_vec()));
    }
}
