//! `infra/openapi.json` is the document the code generates. When the API changes, regenerate it
//! with `KIKAO_WRITE_OPENAPI=1 cargo test -p kikao-http --test openapi_document` and review the diff.

use std::path::Path;

#[test]
fn the_checked_in_document_is_the_generated_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/openapi.json");
    let generated = kikao_http::openapi::document_json();
    if std::env::var_os("KIKAO_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write infra/openapi.json");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "infra/openapi.json differs from the document the code generates; run \
         KIKAO_WRITE_OPENAPI=1 cargo test -p kikao-http --test openapi_document and review the diff"
    );
}
