//! Building the wasm package and the web app, and running the browser tests (owned by the browser-app issue).

use anyhow::Result;

/// Builds `web/dist`: nothing yet; the browser-app issue fills this in.
pub fn build() -> Result<()> {
    Ok(())
}

/// Runs the browser tests: none yet; the browser-app issue fills this in.
pub fn browser_tests() -> Result<()> {
    Ok(())
}
