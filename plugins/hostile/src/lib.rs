//! A plugin that behaves like the Hugging Face plugin, except for datasets
//! named `hostile/<behaviour>`, where it misbehaves on purpose:
//!
//! - `hostile/loop`: never returns;
//! - `hostile/balloon`: allocates until memory runs out;
//! - `hostile/trap`: panics (a trap);
//! - `hostile/huge`: returns a 20 MB body;
//! - `hostile/garbage`: returns a body that is not JSON;
//! - `hostile/wrong-platform`: returns a body for another platform.
//!
//! Built for `wasm32-wasip2` (`target/test-plugins/hostile-wasi.wasm`), it
//! imports WASI and uses it on every `map`, as a third-party plugin left with
//! debugging code would: it prints to stdout and stderr, lists `/`, reads the
//! clocks and opens a socket, then maps as usual.

use aiod_plugin_sdk::{
    AnswerRule, Asset, Connector, Context, Existence, FollowUp, Info, Mapped, MissingRecord, Mode,
    Page, RecordError, Request, Response, SourceRecord,
};
use huggingface_plugin::{HuggingFace, mapping};

fn asset(id: String, body: String) -> Mapped {
    Mapped::one(Asset {
        asset_type: "datasets".into(),
        platform_resource_identifier: id,
        body,
    })
}

/// Everything but `map` is the Hugging Face plugin's.
pub struct Hostile;

impl Connector for Hostile {
    fn info() -> Info {
        Info {
            name: "hostile".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            ..HuggingFace::info()
        }
    }

    fn start(ctx: &Context, mode: &Mode) -> Result<Vec<Request>, String> {
        HuggingFace::start(ctx, mode)
    }

    fn handle_page(
        ctx: &Context,
        mode: &Mode,
        request: &Request,
        response: &Response,
    ) -> Result<Page, String> {
        HuggingFace::handle_page(ctx, mode, request, response)
    }

    fn map(
        ctx: &Context,
        record: &SourceRecord,
        _follow_ups: &[FollowUp],
    ) -> Result<Mapped, RecordError> {
        #[cfg(target_os = "wasi")]
        use_wasi(&record.label);
        match record.label.as_str() {
            "hostile/loop" => {
                let mut n = 0u64;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "hostile/balloon" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
                }
            }
            "hostile/trap" => panic!("hostile plugin traps on purpose"),
            "hostile/huge" => Ok(asset(
                record.id.clone(),
                format!("\"{}\"", "x".repeat(20 << 20)),
            )),
            "hostile/garbage" => Ok(asset(record.id.clone(), "this is { not JSON".into())),
            "hostile/wrong-platform" => {
                let mut out = map_dataset("elsewhere", &record.data)?;
                out.platform_resource_identifier = record.id.clone();
                Ok(asset(out.platform_resource_identifier, out.body))
            }
            _ => {
                let out = map_dataset(&ctx.platform, &record.data)?;
                Ok(asset(out.platform_resource_identifier, out.body))
            }
        }
    }

    fn probes(ctx: &Context) -> Vec<Request> {
        HuggingFace::probes(ctx)
    }

    fn answer_rules(ctx: &Context) -> Vec<AnswerRule> {
        HuggingFace::answer_rules(ctx)
    }

    fn lookup_request(ctx: &Context, record: &MissingRecord) -> Result<Request, String> {
        HuggingFace::lookup_request(ctx, record)
    }

    fn read_lookup(ctx: &Context, record: &MissingRecord, response: &Response) -> Existence {
        HuggingFace::read_lookup(ctx, record, response)
    }
}

/// Every kind of WASI call a careless plugin makes; none may hurt the host.
#[cfg(target_os = "wasi")]
fn use_wasi(label: &str) {
    println!("hostile plugin mapping {label}");
    eprintln!("hostile plugin on stderr: {label}");
    let listed = std::fs::read_dir("/").map(|d| d.count());
    let wall = std::time::SystemTime::now();
    let monotonic = std::time::Instant::now();
    let socket = std::net::TcpStream::connect("127.0.0.1:9");
    println!(
        "listed {listed:?}, clocks {wall:?} {monotonic:?}, socket {:?}",
        socket.is_ok()
    );
}

fn map_dataset(platform: &str, data: &str) -> Result<mapping::MappedDataset, RecordError> {
    mapping::map_dataset(platform, data, None).map_err(|e| match e {
        mapping::MapError::Skip(why) => RecordError::Skip(why),
        mapping::MapError::Invalid(why) => RecordError::Invalid(why),
    })
}

aiod_plugin_sdk::export_connector!(Hostile);
