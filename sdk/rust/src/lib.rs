//! Write an aiod-host connector plugin in plain Rust.
//!
//! A plugin does no I/O: it *plans* requests and *maps* the answers, and the
//! host performs every request, keeps the cursor, and uploads what the plugin
//! maps. Implement [`Connector`] with this crate's types and export it:
//!
//! ```ignore
//! use aiod_plugin_sdk::{Connector, Context, Info, Mode, Request, Response, Page};
//!
//! struct Zoo;
//!
//! impl Connector for Zoo {
//!     fn info() -> Info { /* name, version, endpoints */ }
//!     fn start(_: &Context, _: &Mode) -> Result<Vec<Request>, String> { /* first listing page */ }
//!     fn handle_page(_: &Context, _: &Mode, _: &Request, _: &Response) -> Result<Page, String> { /* records, next */ }
//!     fn map(_: &Context, _: &SourceRecord, _: &[FollowUp]) -> Result<Mapped, RecordError> { /* bodies */ }
//! }
//!
//! aiod_plugin_sdk::export_connector!(Zoo);
//! ```
//!
//! Build it with `cargo build --target wasm32-wasip2 --release`: the
//! `.wasm` is a component the host loads. The contract version is the
//! latest unless a `contract-v0_1_*` feature picks an earlier one.
//!
//! The helpers are what every platform needs: [`link`] (`Link: rel="next"`),
//! [`time`] (RFC 3339), [`encode`] (paths and queries), [`text`] (error
//! snippets, byte-safe truncation) and [`aiod`] (AIoD dataset bodies).

pub mod aiod;
#[doc(hidden)]
pub mod bindings;
pub mod encode;
pub mod link;
pub mod text;
pub mod time;
mod types;

pub use types::*;

/// A platform's plugin: every function of the contract, in plain Rust.
/// Those with a default may be left out.
pub trait Connector {
    /// Describes the plugin. Must not fail.
    fn info() -> Info;

    /// The first request(s) of a sync, or why the mode cannot be used.
    fn start(ctx: &Context, mode: &Mode) -> Result<Vec<Request>, String>;

    /// Reads one listing answer: its records, their follow-ups and the next
    /// page, or why the listing cannot go on.
    fn handle_page(
        ctx: &Context,
        mode: &Mode,
        request: &Request,
        response: &Response,
    ) -> Result<Page, String>;

    /// Turns one record and its follow-up answers into AIoD assets.
    fn map(
        ctx: &Context,
        record: &SourceRecord,
        follow_ups: &[FollowUp],
    ) -> Result<Mapped, RecordError>;

    /// Cheap requests that show each endpoint answers (`aiod-host check`).
    /// By default none: the host probes with the first request of an `all` sync.
    fn probes(_ctx: &Context) -> Vec<Request> {
        Vec::new()
    }

    /// How final each answer of the plugin's endpoints is. By default none:
    /// the host's own verdicts (retry 429 and 5xx, the rest final).
    fn answer_rules(_ctx: &Context) -> Vec<AnswerRule> {
        Vec::new()
    }

    /// The request that asks whether a missing record still exists, or why it
    /// cannot be asked. By default it cannot: its assets stay.
    fn lookup_request(_ctx: &Context, _record: &MissingRecord) -> Result<Request, String> {
        Err("this plugin does not look records up".to_owned())
    }

    /// Reads the answer to `lookup_request`.
    fn read_lookup(_ctx: &Context, _record: &MissingRecord, _response: &Response) -> Existence {
        Existence::Unknown("this plugin does not read lookups".to_owned())
    }
}

/// Exports `$connector` (a type implementing [`Connector`]) as the
/// component's implementation of the contract. Once per plugin; it only
/// emits anything for WebAssembly, so the same crate builds natively for tests.
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type AiodPluginSdkExport = $crate::bindings::Adapter<$connector>;
    $crate::bindings::export!(AiodPluginSdkExport with_types_in $crate::bindings);
        };
    };
}
