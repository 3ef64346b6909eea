//! Kikao's core: the status rules (`domain`), the ports the use cases need from the outside
//! world (`ports`), and the one service that owns every use case (`bookings`).
//!
//! The arrows point here and stop here: this crate depends on no AWS SDK, no SQLite, no HTTP
//! type and (unless the HTTP layer asks for the `openapi` feature) no OpenAPI generator, so an
//! import pointing outward does not compile. The inbound adapter (`kikao-http`) turns requests
//! into calls on `bookings::Bookings`; the outbound adapters (`kikao-aws`, `kikao-embedded`)
//! implement `ports`; only the `main`s in `functions/` and `local/` choose adapters.

pub mod bookings;
pub mod clock;
pub mod domain;
pub mod notifications;
pub mod ports;
pub mod retention;
