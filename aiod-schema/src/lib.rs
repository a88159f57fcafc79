//! The AIoD REST API schema and a validator for request bodies.
//!
//! `openapi.json` is the catalogue's own OpenAPI document (generated offline
//! from `aiondemand/AIOD-rest-api` 2.0.20251113, its FastAPI app), bundled into the
//! build. The validator covers the JSON-schema keywords that document uses and
//! reports violations the way the catalogue (FastAPI + pydantic v1) does:
//! `{"loc": ["body", …], "msg": …, "type": …}`. It is stricter than pydantic in
//! one way: it does not coerce (a number is not accepted for a string), so what
//! passes here passes there.
//!
//! Hand-written rather than `jsonschema`: the catalogue judges bodies with
//! pydantic v1, not a JSON-schema validator, and its error locations and
//! messages, which operators read in dead letters, are pydantic's.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

const OPENAPI: &str = include_str!("../openapi.json");

/// One step of a location inside a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loc {
    Field(String),
    Index(usize),
}

/// One way a body breaks the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Location within the body (without the leading `body`).
    pub loc: Vec<Loc>,
    pub msg: String,
    /// pydantic's error type, e.g. `value_error.any_str.max_length`.
    pub kind: String,
    pub ctx: Option<Value>,
}

impl Violation {
    /// The item of a FastAPI 422 `detail` list.
    pub fn to_pydantic(&self) -> Value {
        let mut loc = vec![json!("body")];
        loc.extend(self.loc.iter().map(|l| match l {
            Loc::Field(f) => json!(f),
            Loc::Index(i) => json!(i),
        }));
        let mut v = json!({"loc": loc, "msg": self.msg, "type": self.kind});
        if let Some(ctx) = &self.ctx {
            v["ctx"] = ctx.clone();
        }
        v
    }

    /// `description.plain`, `distribution[0].name`: where, for people.
    pub fn path(&self) -> String {
        let mut out = String::new();
        for l in &self.loc {
            match l {
                Loc::Field(f) if out.is_empty() => out.push_str(f),
                Loc::Field(f) => {
                    out.push('.');
                    out.push_str(f);
                }
                Loc::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if out.is_empty() { "(body)".into() } else { out }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.path(), self.msg, self.kind)
    }
}

/// The parsed OpenAPI document.
pub struct Schema {
    doc: Value,
}

impl Schema {
    /// The bundled AIoD schema, parsed once.
    pub fn bundled() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| Schema {
            doc: serde_json::from_str(OPENAPI).expect("the bundled openapi.json is valid JSON"),
        })
    }

    /// The name of the schema that `POST /{asset_type}` takes, e.g.
    /// `datasets` → `DatasetCreate`.
    pub fn request_schema(&self, asset_type: &str) -> Option<&str> {
        self.doc
            .get("paths")?
            .get(format!("/{asset_type}"))?
            .get("post")?
            .pointer("/requestBody/content/application~1json/schema/$ref")?
            .as_str()?
            .strip_prefix("#/components/schemas/")
    }

    fn component(&self, name: &str) -> Option<&Value> {
        self.doc.pointer(&format!("/components/schemas/{name}"))
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => r
                .strip_prefix("#/components/schemas/")
                .and_then(|n| self.component(n))
                .unwrap_or(&Value::Null),
            None => schema,
        }
    }

    /// Every violation of `schema_name` in `body` (empty: valid).
    pub fn validate(&self, schema_name: &str, body: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        match self.component(schema_name) {
            Some(schema) => self.check(schema, body, &mut Vec::new(), &mut out),
            None => out.push(Violation {
                loc: vec![],
                msg: format!("unknown schema {schema_name}"),
                kind: "value_error.schema".into(),
                ctx: None,
            }),
        }
        out
    }

    fn check(&self, schema: &Value, value: &Value, loc: &mut Vec<Loc>, out: &mut Vec<Violation>) {
        let schema = self.resolve(schema);
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.check(part, value, loc, out);
            }
        }
        if let Some(options) = schema.get("anyOf").and_then(Value::as_array) {
            let fits = options.iter().any(|o| {
                let mut v = Vec::new();
                self.check(o, value, &mut loc.clone(), &mut v);
                v.is_empty()
            });
            if !fits {
                fail(
                    out,
                    loc,
                    "value matches none of the allowed types".into(),
                    "value_error.any_of",
                    None,
                );
                return;
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            let permitted: Vec<String> = allowed
                .iter()
                .map(|a| a.to_string().replace('"', "'"))
                .collect();
            fail(
                out,
                loc,
                format!(
                    "value is not a valid enumeration member; permitted: {}",
                    permitted.join(", ")
                ),
                "type_error.enum",
                Some(json!({"enum_values": allowed})),
            );
            return;
        }
        let Some(ty) = schema.get("type").and_then(Value::as_str) else {
            return;
        };
        match (ty, value) {
            ("string", Value::String(s)) => {
                let chars = s.chars().count();
                if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                    && chars as u64 > max
                {
                    fail(
                        out,
                        loc,
                        format!("ensure this value has at most {max} characters"),
                        "value_error.any_str.max_length",
                        Some(json!({"limit_value": max})),
                    );
                }
                if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                    && (chars as u64) < min
                {
                    fail(
                        out,
                        loc,
                        format!("ensure this value has at least {min} characters"),
                        "value_error.any_str.min_length",
                        Some(json!({"limit_value": min})),
                    );
                }
                match schema.get("format").and_then(Value::as_str) {
                    Some("date-time") if !is_datetime(s) => fail(
                        out,
                        loc,
                        "invalid datetime format".into(),
                        "value_error.datetime",
                        None,
                    ),
                    Some("date") if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err() => fail(
                        out,
                        loc,
                        "invalid date format".into(),
                        "value_error.date",
                        None,
                    ),
                    _ => {}
                }
            }
            ("string", _) => fail(out, loc, "str type expected".into(), "type_error.str", None),
            ("integer", Value::Number(n)) if n.is_i64() || n.is_u64() => {}
            ("integer", _) => fail(
                out,
                loc,
                "value is not a valid integer".into(),
                "type_error.integer",
                None,
            ),
            ("number", Value::Number(_)) => {}
            ("number", _) => fail(
                out,
                loc,
                "value is not a valid float".into(),
                "type_error.float",
                None,
            ),
            ("boolean", Value::Bool(_)) => {}
            ("boolean", _) => fail(
                out,
                loc,
                "value could not be parsed to a boolean".into(),
                "type_error.bool",
                None,
            ),
            ("array", Value::Array(items)) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        loc.push(Loc::Index(i));
                        if item.is_null() {
                            out.push(none_not_allowed(loc));
                        } else {
                            self.check(item_schema, item, loc, out);
                        }
                        loc.pop();
                    }
                }
            }
            ("array", _) => fail(
                out,
                loc,
                "value is not a valid list".into(),
                "type_error.list",
                None,
            ),
            ("object", Value::Object(map)) => self.check_object(schema, map, loc, out),
            ("object", _) => fail(
                out,
                loc,
                "value is not a valid dict".into(),
                "type_error.dict",
                None,
            ),
            _ => {}
        }
    }

    fn check_object(
        &self,
        schema: &Value,
        map: &Map<String, Value>,
        loc: &mut Vec<Loc>,
        out: &mut Vec<Violation>,
    ) {
        let empty = Map::new();
        let props = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for name in &required {
            if !map.contains_key(*name) {
                loc.push(Loc::Field(name.to_string()));
                out.push(Violation {
                    loc: loc.clone(),
                    msg: "field required".into(),
                    kind: "value_error.missing".into(),
                    ctx: None,
                });
                loc.pop();
            }
        }
        for (name, value) in map {
            loc.push(Loc::Field(name.clone()));
            match props.get(name) {
                // pydantic v1: an optional field accepts null.
                Some(_) if value.is_null() && required.contains(&name.as_str()) => {
                    out.push(none_not_allowed(loc));
                }
                Some(_) if value.is_null() => {}
                Some(prop) => self.check(prop, value, loc, out),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => out
                    .push(Violation {
                        loc: loc.clone(),
                        msg: "extra fields not permitted".into(),
                        kind: "value_error.extra".into(),
                        ctx: None,
                    }),
                None => {}
            }
            loc.pop();
        }
    }

    /// The body as the catalogue keeps it: properties the schema does not
    /// know are dropped, recursively (pydantic's default `Extra.ignore`).
    pub fn prune(&self, schema_name: &str, body: &Value) -> Value {
        match self.component(schema_name) {
            Some(schema) => self.prune_value(schema, body),
            None => body.clone(),
        }
    }

    fn prune_value(&self, schema: &Value, value: &Value) -> Value {
        let schema = self.resolve(schema);
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array)
            && let [only] = parts.as_slice()
        {
            return self.prune_value(only, value);
        }
        match value {
            Value::Object(map) => match schema.get("properties").and_then(Value::as_object) {
                Some(props) => Value::Object(
                    map.iter()
                        .filter_map(|(k, v)| Some((k.clone(), self.prune_value(props.get(k)?, v))))
                        .collect(),
                ),
                None => value.clone(),
            },
            Value::Array(items) => match schema.get("items") {
                Some(item_schema) => Value::Array(
                    items
                        .iter()
                        .map(|i| self.prune_value(item_schema, i))
                        .collect(),
                ),
                None => value.clone(),
            },
            _ => value.clone(),
        }
    }
}

fn fail(out: &mut Vec<Violation>, loc: &[Loc], msg: String, kind: &str, ctx: Option<Value>) {
    out.push(Violation {
        loc: loc.to_vec(),
        msg,
        kind: kind.into(),
        ctx,
    })
}

fn none_not_allowed(loc: &[Loc]) -> Violation {
    Violation {
        loc: loc.to_vec(),
        msg: "none is not an allowed value".into(),
        kind: "type_error.none.not_allowed".into(),
        ctx: None,
    }
}

/// What pydantic v1 parses as a datetime: a date, `T` or a space, a time, and
/// an optional `Z` or offset.
fn is_datetime(s: &str) -> bool {
    if DateTime::parse_from_rfc3339(s).is_ok() {
        return true;
    }
    let naive = s.trim_end_matches('Z');
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .any(|f| NaiveDateTime::parse_from_str(naive, f).is_ok())
        || ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"]
            .iter()
            .any(|f| DateTime::parse_from_str(s, f).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violations(body: Value) -> Vec<Value> {
        Schema::bundled()
            .validate("DatasetCreate", &body)
            .iter()
            .map(Violation::to_pydantic)
            .collect()
    }

    #[test]
    fn finds_the_request_schema_of_an_asset_type() {
        let s = Schema::bundled();
        assert_eq!(s.request_schema("datasets"), Some("DatasetCreate"));
        assert_eq!(s.request_schema("ml_models"), Some("MLModelCreate"));
        assert_eq!(s.request_schema("nonsense"), None);
    }

    #[test]
    fn a_connector_body_is_valid() {
        let body = json!({
            "platform": "huggingface", "platform_resource_identifier": "621ffdd236468d709f181d58",
            "name": "acronym_identification", "same_as": "https://huggingface.co/datasets/x",
            "description": {"plain": "text"}, "date_published": "2022-03-02T23:29:22.000Z",
            "license": "mit", "is_accessible_for_free": true, "keyword": ["a", "B"],
            "distribution": [{"name": "f.parquet", "description": "d", "content_url": "https://x", "content_size_kb": 3}],
            "unknown_field": {"ignored": true}, "license_extra": null
        });
        assert_eq!(violations(body), Vec::<Value>::new());
    }

    #[test]
    fn the_real_apis_messages() {
        let long = "a".repeat(65_536);
        assert_eq!(
            violations(json!({"name": "x", "description": {"plain": long}})),
            [
                json!({"loc": ["body", "description", "plain"], "msg": "ensure this value has at most 65535 characters",
                    "type": "value_error.any_str.max_length", "ctx": {"limit_value": 65535}})
            ]
        );
        assert_eq!(
            violations(json!({"name": "x", "aiod_entry": {"status": "draft"}})),
            [
                json!({"loc": ["body", "aiod_entry", "status"], "msg": "extra fields not permitted", "type": "value_error.extra"})
            ]
        );
        assert_eq!(
            violations(json!({"platform": "huggingface"})),
            [
                json!({"loc": ["body", "name"], "msg": "field required", "type": "value_error.missing"})
            ]
        );
    }

    #[test]
    fn types_formats_and_nested_locations() {
        let v = violations(json!({
            "name": 3, "is_accessible_for_free": "yes", "keyword": "a",
            "date_published": "yesterday", "issn": "123",
            "distribution": [{"content_size_kb": "big", "name": "n".repeat(257)}, null]
        }));
        let got: Vec<(String, String)> = v
            .iter()
            .map(|x| {
                (
                    x["loc"].to_string(),
                    x["type"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expect = [
            (r#"["body","name"]"#, "type_error.str"),
            (r#"["body","is_accessible_for_free"]"#, "type_error.bool"),
            (r#"["body","keyword"]"#, "type_error.list"),
            (r#"["body","date_published"]"#, "value_error.datetime"),
            (r#"["body","issn"]"#, "value_error.any_str.min_length"),
            (
                r#"["body","distribution",0,"content_size_kb"]"#,
                "type_error.integer",
            ),
            (
                r#"["body","distribution",0,"name"]"#,
                "value_error.any_str.max_length",
            ),
            (
                r#"["body","distribution",1]"#,
                "type_error.none.not_allowed",
            ),
        ];
        let mut got_sorted = got.clone();
        got_sorted.sort();
        let mut expect: Vec<(String, String)> = expect
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        expect.sort();
        assert_eq!(got_sorted, expect);
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert!(violations(json!({"name": "é".repeat(256)})).is_empty());
        assert_eq!(violations(json!({"name": "é".repeat(257)})).len(), 1);
    }

    #[test]
    fn prune_drops_unknown_fields_recursively() {
        let body = json!({"name": "x", "bogus": 1, "description": {"plain": "p", "rich": "r"},
                          "distribution": [{"name": "f", "extra": 2}]});
        assert_eq!(
            Schema::bundled().prune("DatasetCreate", &body),
            json!({"name": "x", "description": {"plain": "p"}, "distribution": [{"name": "f"}]})
        );
    }

    #[test]
    fn violation_paths_read_well() {
        let v = Schema::bundled().validate(
            "DatasetCreate",
            &json!({"name": "x", "distribution": [{"name": 1}]}),
        );
        assert_eq!(v[0].path(), "distribution[0].name");
        assert_eq!(
            v[0].to_string(),
            "distribution[0].name: str type expected (type_error.str)"
        );
    }
}
