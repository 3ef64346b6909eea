//! Only tests live in this crate (tests/); see its Cargo.toml.
