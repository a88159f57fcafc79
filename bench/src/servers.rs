//! The local stand-ins, in this process: a Hugging Face Hub, a datasets-server (a second Hugging
//! Face stand-in, so each endpoint has a budget of its own, as the plugin declares them), and
//! the AIoD catalogue with its Keycloak. Their logs only count requests by kind (millions of
//! kept requests would cost more memory than the servers) and gauge requests in flight.

use std::collections::BTreeMap;
use std::time::Duration;

use local_servers::{AiodState, Canned, HfState, LocalAiod, LocalServer, RequestLog};
use serde_json::Value;

/// The credentials of the local Keycloak's connector client (not a real secret).
pub const CLIENT: (&str, &str) = ("platform_huggingface", "local-secret");

/// Kinds of request, as the logs count them.
pub const HUB_LISTING: &str = "hub listing page";
pub const HUB_OTHER: &str = "hub other";
pub const PARQUET: &str = "datasets-server /parquet";
pub const DS_OTHER: &str = "datasets-server other";
pub const TOKEN: &str = "Keycloak token";
pub const AUTH_TEST: &str = "AIoD authorization_test";
pub const AIOD_LIST: &str = "AIoD listing page";
pub const AIOD_LOOKUP: &str = "AIoD lookup";
pub const AIOD_POST: &str = "AIoD POST";
pub const AIOD_PUT: &str = "AIoD PUT";
pub const AIOD_DELETE: &str = "AIoD DELETE";
pub const AIOD_OTHER: &str = "AIoD other";

fn classify_hub(_method: &str, path: &str) -> String {
    let kind = if path == "/api/datasets" {
        HUB_LISTING
    } else {
        HUB_OTHER
    };
    kind.to_owned()
}

fn classify_datasets_server(_method: &str, path: &str) -> String {
    let kind = if path == "/parquet" {
        PARQUET
    } else {
        DS_OTHER
    };
    kind.to_owned()
}

fn classify_aiod(method: &str, path: &str) -> String {
    // The catalogue answers unversioned, `/v2` and `/v3` alike.
    let path = ["/v2", "/v3"]
        .iter()
        .find_map(|v| path.strip_prefix(v))
        .unwrap_or(path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let kind = match (method, segments.as_slice()) {
        (_, ["aiod-auth", ..]) => TOKEN,
        ("GET", ["authorization_test"]) => AUTH_TEST,
        ("GET", ["platforms", _, _]) | ("GET", [_]) => AIOD_LIST,
        ("GET", ["platforms", _, _, ..]) | ("GET", [_, _]) => AIOD_LOOKUP,
        ("POST", _) => AIOD_POST,
        ("PUT", _) => AIOD_PUT,
        ("DELETE", _) => AIOD_DELETE,
        _ => AIOD_OTHER,
    };
    kind.to_owned()
}

/// Request counts by kind.
pub type Counts = BTreeMap<String, u64>;

/// `after - before`, kind by kind.
pub fn delta(before: &Counts, after: &Counts) -> Counts {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

pub fn get(counts: &Counts, kind: &str) -> u64 {
    counts.get(kind).copied().unwrap_or(0)
}

/// What to start.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Generated datasets the hub lists (and the datasets-server knows).
    pub datasets: usize,
    /// The most datasets a listing page holds.
    pub page_size: usize,
    /// Every N-th generated dataset's `/parquet` is a permanent error (0: none).
    pub failing_parquet_every: usize,
    /// Requests per window, per Hugging Face stand-in.
    pub budget: Option<(u32, Duration)>,
    /// AIoD service times: per write, per lookup, per 1,000 listed datasets.
    pub aiod_times: Option<[Duration; 3]>,
}

pub struct Servers {
    pub hub: LocalServer,
    pub datasets_server: LocalServer,
    pub aiod: LocalAiod,
}

/// Where the host finds them.
#[derive(Debug, Clone)]
pub struct Urls {
    pub hub: String,
    pub datasets_server: String,
    pub aiod_api: String,
    pub aiod_auth: String,
}

impl Servers {
    pub fn start(setup: &Setup) -> anyhow::Result<Servers> {
        let hf = || {
            let state = HfState::generated(setup.datasets).with_page_size(setup.page_size);
            let state = match setup.failing_parquet_every {
                0 => state,
                every => state.with_failing_parquet(every),
            };
            match setup.budget {
                Some((requests, window)) => state.with_budget(requests, window),
                None => state,
            }
        };
        Servers::start_with(hf, setup.aiod_times)
    }

    /// Both Hugging Face stand-ins serving `hf()` (e.g. the recorded datasets), and AIoD.
    pub fn start_with(
        hf: impl Fn() -> HfState,
        aiod_times: Option<[Duration; 3]>,
    ) -> anyhow::Result<Servers> {
        let hub = LocalServer::start_with_log(hf(), RequestLog::counting(classify_hub))?;
        let datasets_server =
            LocalServer::start_with_log(hf(), RequestLog::counting(classify_datasets_server))?;
        let aiod = AiodState::new().with_client(CLIENT.0, CLIENT.1, &[CLIENT.0]);
        let aiod = match aiod_times {
            Some([write, lookup, list]) => aiod.with_latency(write, lookup, list),
            None => aiod,
        };
        let aiod = LocalAiod::start_with_log(aiod, RequestLog::counting(classify_aiod))?;
        Ok(Servers {
            hub,
            datasets_server,
            aiod,
        })
    }

    pub fn urls(&self) -> Urls {
        Urls {
            hub: self.hub.base_url(),
            datasets_server: self.datasets_server.base_url(),
            aiod_api: self.aiod.api_url(),
            aiod_auth: self.aiod.auth_url(),
        }
    }

    /// Every request so far, by kind.
    pub fn counts(&self) -> Counts {
        let mut all = self.hub.log().counts();
        all.extend(self.datasets_server.log().counts());
        all.extend(self.aiod.log().counts());
        all
    }

    /// Starts the in-flight gauge again.
    pub fn reset_in_flight(&self) {
        self.aiod.log().reset_max_in_flight();
    }

    /// The most requests the AIoD stand-in (with Keycloak) handled at once since the last
    /// reset, those waiting for its worker included. (The Hugging Face stand-ins answer without
    /// waiting, one request after the other, so theirs would always be 1.)
    pub fn max_aiod_in_flight(&self) -> usize {
        self.aiod.log().max_in_flight()
    }

    /// Budgets on (or off) on both Hugging Face stand-ins; their windows open anew.
    pub fn set_budget(&self, budget: Option<(u32, Duration)>) {
        self.hub.hf().set_budget(budget);
        self.datasets_server.hf().set_budget(budget);
    }

    pub fn set_aiod_times(&self, times: Option<[Duration; 3]>) {
        let [write, lookup, list] = times.unwrap_or_default();
        self.aiod.set_latency(write, lookup, list);
    }

    /// Changes every `step`-th generated dataset (a new `lastModified` and `sha`; with
    /// `new_description`, a new description, so its AIoD body changes too), starting at
    /// `offset`. Returns how many changed.
    pub fn change(&self, step: usize, offset: usize, new_description: bool) -> usize {
        let count = self.hub.hf().dataset_count();
        let indices = (offset..count).step_by(step.max(1));
        self.hub.hf().touch_generated(indices, new_description)
    }
}

/// The six recorded Hugging Face datasets and `copies` more of them, real-sized: copy `k` is
/// recorded dataset `k % 6` with its own `_id`, repo id (`<scrambled id>-c<k>`), `sha` and
/// words, and the original's recorded `/parquet` answer in the copy's words.
pub fn recorded_with_copies(recorded: &[(Value, u16, String)], copies: usize) -> HfState {
    let mut state = HfState::recorded();
    for k in 0..copies {
        let (dataset, status, body) = &recorded[k % recorded.len()];
        let (dataset, body) = copy(dataset, body, k);
        let id = dataset["id"].as_str().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        if *status == 404 {
            // As the recorded one is served: the datasets-server's "not found".
            headers.push(("X-Error-Code".to_owned(), "ResponseNotFound".to_owned()));
        }
        state.set_parquet(
            id,
            Canned {
                status: *status,
                content_type: "application/json".to_owned(),
                body,
                headers,
            },
        );
        state.push_raw(dataset);
    }
    state
}

/// Copy `k` of a recorded dataset and its `/parquet` answer: its own ids and
/// its own words.
fn copy(dataset: &Value, body: &str, k: usize) -> (Value, String) {
    let mut words = Scramble::new(k as u64);
    let mut dataset = dataset.clone();
    words.learn(&dataset);
    words.apply(&mut dataset);
    let id = format!("{}-c{k:06}", dataset["id"].as_str().unwrap_or("copy"));
    dataset["_id"] = format!("{:024x}", 0x7100_0000_0000_0000_0000_0000_u128 + k as u128).into();
    dataset["id"] = id.into();
    dataset["sha"] = format!("{:040x}", 0xc0b1_0000_u128 + k as u128).into();
    let body = match serde_json::from_str::<Value>(body) {
        Ok(mut json) => {
            words.apply(&mut json);
            json.to_string()
        }
        Err(_) => words.text(body),
    };
    (dataset, body)
}

/// Makes each copy of a recorded dataset its own: every word of three letters
/// or more in its values (not its keys) becomes random letters of the same
/// length, the same throughout the copy (its name in its `/parquet` URLs too).
/// Random letters compress worse than the English they replace, and a
/// dictionary trained on the store cannot learn them: the copies' state size
/// is not flattered by their being copies.
struct Scramble {
    seed: u64,
    map: std::collections::HashMap<String, String>,
}

impl Scramble {
    fn new(copy: u64) -> Scramble {
        Scramble {
            seed: copy.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            map: Default::default(),
        }
    }

    /// xorshift64: deterministic, so a bench run is repeatable.
    fn letter(&mut self) -> char {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        (b'a' + (self.seed % 26) as u8) as char
    }

    fn words(text: &str) -> impl Iterator<Item = &str> {
        text.split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| w.len() >= 3)
    }

    /// Gives every word of `value`'s strings its replacement.
    fn learn(&mut self, value: &Value) {
        match value {
            Value::String(s) => {
                for w in Self::words(s) {
                    if !self.map.contains_key(w) {
                        let new = (0..w.len()).map(|_| self.letter()).collect();
                        self.map.insert(w.to_owned(), new);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| self.learn(v)),
            Value::Object(o) => o.values().for_each(|v| self.learn(v)),
            _ => {}
        }
    }

    /// Replaces the learnt words in `text`.
    fn text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        for c in text.chars().chain(std::iter::once('\0')) {
            if c.is_ascii_alphabetic() {
                word.push(c);
                continue;
            }
            out.push_str(self.map.get(&word).unwrap_or(&word));
            word.clear();
            if c != '\0' {
                out.push(c);
            }
        }
        out
    }

    fn apply(&self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.text(s),
            Value::Array(a) => a.iter_mut().for_each(|v| self.apply(v)),
            Value::Object(o) => o.values_mut().for_each(|v| self.apply(v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_keep_their_shape_and_lose_their_words() {
        let dataset = serde_json::json!({
            "id": "org/wep-probes",
            "description": "Probing neural models, 2.0",
            "cardData": {"license": "apache-2.0"},
            "downloads": 3
        });
        let body = r#"{"parquet_files":[{"dataset":"org/wep-probes","url":"https://x/org/wep-probes/0.parquet"}]}"#;
        let (a, answer) = copy(&dataset, body, 0);
        let (b, _) = copy(&dataset, body, 1);
        assert_eq!(a["downloads"], 3);
        assert!(a["cardData"]["license"].as_str().unwrap().ends_with("-2.0"));
        let text = a["description"].as_str().unwrap();
        assert_eq!(text.len(), "Probing neural models, 2.0".len());
        assert!(
            !text.contains("Probing") && text.ends_with(", 2.0"),
            "{text}"
        );
        assert_ne!(a["description"], b["description"], "each copy its own");
        assert_eq!(copy(&dataset, body, 0).0, a, "the same copy each run");
        // The name in the copy's /parquet answer is the copy's.
        let name = a["id"].as_str().unwrap().trim_end_matches("-c000000");
        assert!(!name.contains("wep-probes"), "{name}");
        assert!(
            answer.contains(&format!("\"dataset\":\"{name}\"")),
            "{answer}"
        );
        assert!(answer.contains("\"parquet_files\""), "{answer}");
    }

    #[test]
    fn classifies_aiod_requests() {
        let kind = |m, p| classify_aiod(m, p);
        assert_eq!(
            kind(
                "POST",
                "/aiod-auth/realms/aiod/protocol/openid-connect/token"
            ),
            TOKEN
        );
        assert_eq!(kind("GET", "/authorization_test"), AUTH_TEST);
        assert_eq!(kind("GET", "/v2/platforms/huggingface/datasets"), AIOD_LIST);
        assert_eq!(
            kind("GET", "/v2/platforms/huggingface/datasets/6500abc"),
            AIOD_LOOKUP
        );
        assert_eq!(kind("GET", "/v2/datasets/data_x"), AIOD_LOOKUP);
        assert_eq!(kind("GET", "/datasets"), AIOD_LIST);
        assert_eq!(kind("POST", "/v2/datasets"), AIOD_POST);
        assert_eq!(kind("PUT", "/v2/datasets/data_x"), AIOD_PUT);
        assert_eq!(kind("DELETE", "/v2/datasets/data_x"), AIOD_DELETE);
    }
}
