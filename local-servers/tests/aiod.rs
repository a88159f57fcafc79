//! The AIoD catalogue and Keycloak stand-ins over real HTTP on loopback.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use local_servers::{AiodState, Fault, LocalAiod};
use serde_json::{Value, json};
use support::{Response, assert_dropped, get, request};

const CONNECTOR: &str = "platform_huggingface";
const SECRET: &str = "local-secret";

/// The catalogue with the Hugging Face connector's client.
fn state() -> AiodState {
    AiodState::new().with_client(CONNECTOR, SECRET, &[CONNECTOR])
}

fn start(state: AiodState) -> LocalAiod {
    LocalAiod::start(state).unwrap()
}

/// A token request to the `aiod` realm.
fn token_request(aiod: &LocalAiod, form: &str) -> Response {
    let url = format!(
        "{}realms/aiod/protocol/openid-connect/token",
        aiod.auth_url()
    );
    let content_type = ("Content-Type", "application/x-www-form-urlencoded");
    request("POST", &url, &[content_type], Some(form))
}

/// An access token of `client_id`.
fn login_as(aiod: &LocalAiod, client_id: &str, secret: &str) -> String {
    let form = format!(
        "grant_type=client_credentials&client_id={client_id}&client_secret={secret}\
         &scope=openid+profile+roles"
    );
    let response = token_request(aiod, &form);
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()["access_token"].as_str().unwrap().to_owned()
}

fn login(aiod: &LocalAiod) -> String {
    login_as(aiod, CONNECTOR, SECRET)
}

/// `method` on `path` (relative to the API URL, e.g. `v2/datasets`), with a bearer token and a
/// JSON body if given.
fn call(
    aiod: &LocalAiod,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Response {
    let url = format!("{}{path}", aiod.api_url());
    let authorization = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    headers.extend(authorization.as_deref().map(|a| ("Authorization", a)));
    let body = body.map(Value::to_string);
    request(method, &url, &headers, body.as_deref())
}

fn post(aiod: &LocalAiod, token: &str, body: &Value) -> Response {
    call(aiod, "POST", "v2/datasets", Some(token), Some(body))
}

/// `POST /v2/datasets` that must succeed; the new identifier.
fn create(aiod: &LocalAiod, token: &str, body: &Value) -> String {
    let response = post(aiod, token, body);
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()["identifier"].as_str().unwrap().to_owned()
}

fn get_path(aiod: &LocalAiod, path: &str) -> Response {
    get(&format!("{}{path}", aiod.api_url()))
}

/// An error answer's `detail`, checking the `reference` every error carries.
fn detail(response: &Response) -> Value {
    let body = response.json();
    let reference = body["reference"].as_str().unwrap();
    assert_eq!(reference.len(), 32, "{reference}");
    assert!(reference.chars().all(|c| c.is_ascii_hexdigit()));
    body["detail"].clone()
}

fn assert_error(response: &Response, status: u16, expected: &str) {
    assert_eq!(response.status, status, "{}", response.body);
    assert_eq!(detail(response), expected);
}

/// A body like the connector's for a Hugging Face dataset, with two fields the catalogue does
/// not know.
fn hf_dataset(platform_id: &str) -> Value {
    json!({
        "platform": "huggingface",
        "platform_resource_identifier": platform_id,
        "name": "amirveyseh/acronym_identification",
        "same_as": "https://huggingface.co/datasets/amirveyseh/acronym_identification",
        "description": {"plain": "Acronym identification training and development sets."},
        "date_published": "2022-03-02T23:29:22.000Z",
        "license": "MIT",
        "is_accessible_for_free": true,
        "version": null,
        "keyword": [
            "task_categories:token-classification",
            "size_categories:10K<n<100K",
            "Language:EN",
            "language:en",
        ],
        "distribution": [{
            "name": "train/0000.parquet",
            "content_url": "https://huggingface.co/datasets/amirveyseh/acronym_identification/train/0000.parquet",
            "content_size_kb": 1200,
            "date_published": "2022-03-03T01:29:22.250+02:00",
            "encoding_format": "application/x-parquet",
            "sha": "not in the schema",
        }],
        "citation_text": "not in the schema either",
    })
}

#[test]
fn token_grant() {
    let aiod = start(state().with_token_lifetime(Duration::from_secs(120)));
    let form = |id: &str, secret: &str| {
        format!("grant_type=client_credentials&client_id={id}&client_secret={secret}")
    };

    let response = token_request(&aiod, &form(CONNECTOR, SECRET));
    assert_eq!(response.status, 200);
    let token = response.json();
    assert!(token["access_token"].as_str().unwrap().len() >= 32);
    assert_eq!(token["expires_in"], 120);
    assert_eq!(token["refresh_expires_in"], 0);
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["not-before-policy"], 0);
    assert_eq!(token["scope"], "openid profile roles");
    let again = token_request(&aiod, &form(CONNECTOR, SECRET)).json();
    assert_ne!(again["access_token"], token["access_token"]);

    let invalid = "Invalid client or Invalid client credentials";
    let response = token_request(&aiod, &form(CONNECTOR, "wrong"));
    assert_eq!(response.status, 401);
    let expected = json!({"error": "unauthorized_client", "error_description": invalid});
    assert_eq!(response.json(), expected);
    let response = token_request(&aiod, &form("nobody", SECRET));
    assert_eq!(response.status, 401);
    let expected = json!({"error": "invalid_client", "error_description": invalid});
    assert_eq!(response.json(), expected);

    let password = format!("grant_type=password&client_id={CONNECTOR}&client_secret={SECRET}");
    let response = token_request(&aiod, &password);
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"], "unsupported_grant_type");

    let url = format!(
        "{}realms/master/protocol/openid-connect/token",
        aiod.auth_url()
    );
    let response = request("POST", &url, &[], Some(&form(CONNECTOR, SECRET)));
    assert_eq!(response.status, 404);
    assert_eq!(response.json(), json!({"error": "Realm does not exist"}));
}

#[test]
fn authorization_test_and_token_expiry() {
    let aiod = start(state().with_token_lifetime(Duration::from_secs(1)));
    let no_token = call(&aiod, "GET", "authorization_test", None, None);
    assert_error(
        &no_token,
        401,
        "No token found - This endpoint requires authorization. You need to be logged in.",
    );
    let inactive = "Invalid userinfo or inactive user - This endpoint requires authorization. \
                    You need to be logged in.";
    let unknown = call(&aiod, "GET", "authorization_test", Some("made-up"), None);
    assert_error(&unknown, 401, inactive);

    let token = login(&aiod);
    let response = call(&aiod, "GET", "authorization_test", Some(&token), None);
    assert_eq!(response.status, 200);
    let expected = json!({"name": "service-account-platform_huggingface", "roles": [CONNECTOR]});
    assert_eq!(response.json(), expected);
    // Only the unversioned app has it.
    let versioned = call(&aiod, "GET", "v2/authorization_test", Some(&token), None);
    assert_error(&versioned, 404, "Not Found");

    thread::sleep(Duration::from_millis(1100));
    let expired = call(&aiod, "GET", "authorization_test", Some(&token), None);
    assert_error(&expired, 401, inactive);
    let expired = post(&aiod, &token, &hf_dataset("621ffdd236468d709f181d58"));
    assert_error(&expired, 401, inactive);
    assert!(aiod.assets().is_empty());
}

#[test]
fn post_reads_back_normalised() {
    let aiod = start(state());
    let token = login(&aiod);
    let platform_id = "621ffdd236468d709f181d58";
    let identifier = create(&aiod, &token, &hf_dataset(platform_id));
    assert!(identifier.starts_with("data_"), "{identifier}");
    assert_eq!(identifier.len(), 29);
    assert!(identifier[5..].chars().all(|c| c.is_ascii_alphanumeric()));

    let response = get_path(
        &aiod,
        &format!("v2/platforms/huggingface/datasets/{platform_id}"),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    let asset = response.json();
    assert_eq!(asset["platform"], "huggingface");
    assert_eq!(asset["platform_resource_identifier"], platform_id);
    assert_eq!(
        asset["keyword"],
        json!([
            "language:en",
            "size_categories:10k<n<100k",
            "task_categories:token-classification"
        ])
    );
    assert_eq!(asset["license"], "mit");
    assert_eq!(asset["date_published"], "2022-03-02T23:29:22");
    for field in [
        "identifier",
        "ai_asset_identifier",
        "ai_resource_identifier",
    ] {
        assert_eq!(asset[field], identifier.as_str());
    }
    let entry = &asset["aiod_entry"];
    assert_eq!(entry["editor"], json!([]));
    assert_eq!(entry["status"], "published");
    assert_eq!(entry["date_created"], entry["date_modified"]);
    let created = entry["date_created"].as_str().unwrap();
    assert!(created.len() >= 19 && !created.ends_with('Z'), "{created}");
    for relation in [
        "alternate_name",
        "application_area",
        "citation",
        "contact",
        "contacts",
        "creator",
        "falls_under_paradigm",
        "funder",
        "has_part",
        "industrial_sector",
        "is_part_of",
        "media",
        "note",
        "relevant_link",
        "relevant_resource",
        "relevant_to",
        "research_area",
        "scientific_domain",
    ] {
        assert_eq!(asset[relation], json!([]), "{relation}");
    }
    // Unknown fields and nulls are gone, everywhere.
    let object = asset.as_object().unwrap();
    assert!(!object.contains_key("citation_text"));
    assert!(!object.contains_key("version"));
    let distribution = &asset["distribution"][0];
    // The clock time as written; the offset is dropped, not converted.
    assert_eq!(distribution["date_published"], "2022-03-03T01:29:22.250000");
    assert_eq!(distribution["content_size_kb"], 1200);
    assert!(distribution.get("sha").is_none());

    assert_eq!(
        get_path(&aiod, &format!("datasets/{identifier}")).json(),
        asset
    );
    assert_eq!(
        aiod.asset_by_platform_id("huggingface", platform_id),
        Some(asset.clone())
    );
    assert_eq!(aiod.assets(), [asset]);

    // A platform identifier may contain a slash.
    let slashed = create(&aiod, &token, &hf_dataset("bigIR/ar_cov19"));
    let response = get_path(&aiod, "v2/platforms/huggingface/datasets/bigIR/ar_cov19");
    assert_eq!(response.json()["identifier"], slashed.as_str());
}

#[test]
fn duplicates_conflict_with_the_existing_identifier() {
    let aiod = start(state());
    let token = login(&aiod);
    let body = hf_dataset("621ffdd236468d709f181d58");
    let identifier = create(&aiod, &token, &body);
    let expected = format!(
        "There already exists a dataset with the same platform and platform_resource_identifier, \
         with identifier={identifier}."
    );
    assert_error(&post(&aiod, &token, &body), 409, &expected);
    assert_eq!(aiod.assets().len(), 1);
}

#[test]
fn put_replaces_every_field() {
    let aiod = start(state());
    let token = login(&aiod);
    let platform_id = "621ffdd236468d709f181d58";
    let identifier = create(&aiod, &token, &hf_dataset(platform_id));
    let before = aiod
        .asset_by_platform_id("huggingface", platform_id)
        .unwrap();

    thread::sleep(Duration::from_millis(5));
    let replacement = json!({
        "platform": "huggingface",
        "platform_resource_identifier": platform_id,
        "name": "renamed",
        "description": {"html": "<p>new</p>"},
        "keyword": ["NEW"],
    });
    let path = format!("v2/datasets/{identifier}");
    let response = call(&aiod, "PUT", &path, Some(&token), Some(&replacement));
    assert_eq!((response.status, response.body.as_str()), (200, "null"));

    let after = get_path(&aiod, &path).json();
    assert_eq!(after["name"], "renamed");
    assert_eq!(after["description"], json!({"html": "<p>new</p>"}));
    assert_eq!(after["keyword"], json!(["new"]));
    assert_eq!(after["distribution"], json!([]));
    for omitted in [
        "license",
        "date_published",
        "same_as",
        "is_accessible_for_free",
    ] {
        assert!(after.get(omitted).is_none(), "{omitted}");
    }
    assert_eq!(after["identifier"], identifier.as_str());
    let (old, new) = (&before["aiod_entry"], &after["aiod_entry"]);
    assert_eq!(new["date_created"], old["date_created"]);
    assert!(new["date_modified"].as_str() > old["date_modified"].as_str());

    // The same rules as POST apply to the body.
    let mut invalid = replacement.clone();
    invalid["name"] = json!(null);
    let response = call(&aiod, "PUT", &path, Some(&token), Some(&invalid));
    assert_eq!(response.status, 422);
    let mut elsewhere = replacement.clone();
    elsewhere["platform"] = json!("openml");
    let response = call(&aiod, "PUT", &path, Some(&token), Some(&elsewhere));
    assert_error(
        &response,
        403,
        "No permission to upload assets for openml platform.",
    );

    let response = call(
        &aiod,
        "PUT",
        "v2/datasets/data_000000000000000000000000",
        Some(&token),
        Some(&replacement),
    );
    assert_error(
        &response,
        404,
        "Dataset 'data_000000000000000000000000' not found in the database.",
    );
    let response = call(
        &aiod,
        "PUT",
        "v2/datasets/42",
        Some(&token),
        Some(&replacement),
    );
    assert_eq!(response.status, 422);
    let hint = detail(&response)[0]["msg"].as_str().unwrap().to_owned();
    assert!(hint.contains("data_"), "{hint}");
    let response = call(&aiod, "PUT", &path, None, Some(&replacement));
    assert_eq!(response.status, 401);
}

#[test]
fn lookups_of_what_is_not_there() {
    let aiod = start(state());
    assert_error(
        &get_path(&aiod, "v2/datasets/data_000000000000000000000000"),
        404,
        "Dataset 'data_000000000000000000000000' not found in the database.",
    );
    assert_error(
        &get_path(&aiod, "v2/platforms/huggingface/datasets/nobody/nothing"),
        404,
        "Dataset 'nobody/nothing' of 'huggingface' not found in the database.",
    );
    assert_error(
        &get_path(&aiod, "v2/platforms/kaggle/datasets/x"),
        400,
        "platform 'kaggle' not recognized.",
    );
    assert_eq!(get_path(&aiod, "v2/datasets/dataset_1").status, 422);
    assert_error(&get_path(&aiod, "v2/nowhere"), 404, "Not Found");
}

#[test]
fn platforms_must_be_registered_and_permitted() {
    let aiod = start(
        state()
            .with_client("platform_nowhere", "s", &["platform_nowhere"])
            .with_client("platform_elsewhere", "s", &["platform_elsewhere"])
            .with_platform("elsewhere")
            .with_client("someone", "s", &[]),
    );
    let mut body = json!({"platform": "nowhere", "platform_resource_identifier": "1", "name": "n"});
    let nowhere = login_as(&aiod, "platform_nowhere", "s");
    assert_error(
        &post(&aiod, &nowhere, &body),
        412,
        "Platform nowhere does not exist. You can register it using the POST platforms endpoint.",
    );
    body["platform"] = json!("elsewhere");
    create(&aiod, &login_as(&aiod, "platform_elsewhere", "s"), &body);

    let connector = login(&aiod);
    for platform in ["openml", "HuggingFace"] {
        let mut body = hf_dataset("621ffdd236468d709f181d58");
        body["platform"] = json!(platform);
        let expected = format!("No permission to upload assets for {platform} platform.");
        assert_error(&post(&aiod, &connector, &body), 403, &expected);
    }
    let mut anonymous = hf_dataset("x");
    anonymous
        .as_object_mut()
        .unwrap()
        .remove("platform_resource_identifier");
    assert_error(
        &post(&aiod, &connector, &anonymous),
        403,
        "Platform resource identifier may not be none.",
    );
    anonymous.as_object_mut().unwrap().remove("platform");
    assert_error(
        &post(&aiod, &connector, &anonymous),
        403,
        "No permission to upload assets for None platform.",
    );

    // An ordinary user may not name a platform; without one, the asset is the catalogue's own,
    // and a draft only its creator sees.
    let someone = login_as(&aiod, "someone", "s");
    assert_error(
        &post(&aiod, &someone, &hf_dataset("x")),
        403,
        "No permission to set platform or platform resource identifier.",
    );
    let own = create(&aiod, &someone, &json!({"name": "mine"}));
    let path = format!("datasets/{own}");
    let asset = call(&aiod, "GET", &path, Some(&someone), None).json();
    assert_eq!(asset["platform"], "aiod");
    assert_eq!(asset["platform_resource_identifier"], own.as_str());
    assert_eq!(asset["aiod_entry"]["status"], "draft");
    assert_eq!(get_path(&aiod, &path).status, 401);
    assert_eq!(
        call(&aiod, "GET", &path, Some(&connector), None).status,
        403
    );
    let response = call(&aiod, "DELETE", &path, Some(&connector), None);
    assert_error(
        &response,
        403,
        "You do not have permission to delete datasets.",
    );
}

#[test]
fn schema_violations_answer_like_pydantic() {
    let aiod = start(state());
    let token = login(&aiod);
    let mut body = hf_dataset("621ffdd236468d709f181d58");
    body["description"]["plain"] = json!("a".repeat(70_000));
    let response = post(&aiod, &token, &body);
    assert_eq!(response.status, 422);
    assert_eq!(
        detail(&response),
        json!([{
            "loc": ["body", "description", "plain"],
            "msg": "ensure this value has at most 65535 characters",
            "type": "value_error.any_str.max_length",
            "ctx": {"limit_value": 65535},
        }])
    );

    let mut body = hf_dataset("621ffdd236468d709f181d58");
    body["aiod_entry"] = json!({"editor": [], "status": "draft"});
    body.as_object_mut().unwrap().remove("name");
    let response = post(&aiod, &token, &body);
    assert_eq!(response.status, 422);
    let mut items: Vec<(String, String)> = detail(&response)
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["loc"].to_string(), i["msg"].as_str().unwrap().to_owned()))
        .collect();
    items.sort();
    assert_eq!(
        items,
        [
            (
                r#"["body","aiod_entry","status"]"#.to_owned(),
                "extra fields not permitted".to_owned()
            ),
            (r#"["body","name"]"#.to_owned(), "field required".to_owned()),
        ]
    );

    let not_an_object = post(&aiod, &token, &json!(["a", "list"]));
    assert_eq!(not_an_object.status, 422);
    assert_eq!(detail(&not_an_object)[0]["type"], "type_error.dict");
    let url = format!("{}v2/datasets", aiod.api_url());
    let bearer = format!("Bearer {token}");
    let headers = [("Authorization", bearer.as_str())];
    let broken = request("POST", &url, &headers, Some("{\"name\": "));
    assert_eq!(broken.status, 422);
    assert_eq!(detail(&broken)[0]["type"], "json_invalid");
    let empty = request("POST", &url, &headers, None);
    assert_eq!(empty.status, 422);
    assert_eq!(detail(&empty)[0]["type"], "value_error.missing");

    let mut blob = hf_dataset("621ffdd236468d709f181d58");
    blob["distribution"][0]["binary_blob"] = json!("aGVsbG8=");
    assert_error(
        &post(&aiod, &token, &blob),
        400,
        "Setting `binary_blob` is forbidden. Consider using `content_url` instead.",
    );
    let mut reference = hf_dataset("621ffdd236468d709f181d58");
    reference["creator"] = json!(["person_123"]);
    assert_error(
        &post(&aiod, &token, &reference),
        404,
        "Nested object with identifiers person_123 not found",
    );
    assert!(aiod.assets().is_empty());
}

#[test]
fn huggingface_identifiers_are_validated() {
    let aiod = start(state());
    let token = login(&aiod);
    let cases = [
        (
            json!("bad--id..x"),
            "Cannot have -- or .. in repo_id: 'bad--id..x'.",
        ),
        (
            json!("a/b/c"),
            "Repo id must be in the form 'repo_name' or 'namespace/repo_name': 'a/b/c'. Use \
             `repo_type` argument if needed.",
        ),
        (
            json!(null),
            "Repo id must be a string, not <class 'NoneType'>: 'None'.",
        ),
        (
            json!("-starts-with-a-dash"),
            "Repo id must use alphanumeric chars or '-', '_', '.', '--' and '..' are forbidden, \
             '-' and '.' cannot start or end the name, max length is 96: '-starts-with-a-dash'.",
        ),
    ];
    for (platform_id, msg) in cases {
        let mut body = hf_dataset("");
        body["platform_resource_identifier"] = platform_id;
        let response = post(&aiod, &token, &body);
        assert_eq!(response.status, 422, "{}", response.body);
        assert_eq!(
            detail(&response),
            json!([{
                "loc": ["body", "platform_resource_identifier"],
                "msg": msg,
                "type": "value_error.hfvalidation",
            }])
        );
    }
}

#[test]
fn mysql_column_limits_are_unexpected_exceptions() {
    let aiod = start(state());
    let token = login(&aiod);
    let unexpected =
        "Unexpected exception while processing your request. Please contact the maintainers.";
    // 35,000 characters pass the schema, but 70,000 bytes do not fit a TEXT column.
    let mut body = hf_dataset("621ffdd236468d709f181d58");
    body["description"] = json!({"plain": "é".repeat(35_000)});
    assert_error(&post(&aiod, &token, &body), 500, unexpected);
    body["description"] = json!({"html": "é".repeat(32_767)});
    create(&aiod, &token, &body);

    let mut body = hf_dataset("bigIR/ar_cov19");
    body["keyword"] = json!(["k".repeat(257)]);
    assert_error(&post(&aiod, &token, &body), 500, unexpected);
    body["keyword"] = json!(["k".repeat(256)]);
    create(&aiod, &token, &body);
}

#[test]
fn listings_page_and_cap_the_limit() {
    let aiod = start(state().with_client("platform_zenodo", "s", &["platform_zenodo"]));
    let dataset = |platform: &str, i: usize| {
        json!({
            "platform": platform,
            "platform_resource_identifier": format!("id{i}"),
            "name": format!("dataset {i}"),
        })
    };
    let mut expected = Vec::new();
    for i in 0..25 {
        let platform = if i % 5 == 4 { "zenodo" } else { "huggingface" };
        expected.push(aiod.insert(dataset(platform, i)));
    }
    let identifiers = |page: &Value| -> Vec<String> {
        let page = page.as_array().unwrap();
        page.iter()
            .map(|d| d["identifier"].as_str().unwrap().to_owned())
            .collect()
    };

    assert_eq!(
        identifiers(&get_path(&aiod, "v2/datasets").json()),
        expected[..10]
    );
    let mut walked = Vec::new();
    for offset in (0..30).step_by(7) {
        let page = get_path(&aiod, &format!("datasets?offset={offset}&limit=7")).json();
        walked.extend(identifiers(&page));
    }
    assert_eq!(walked, expected);

    let hf: Vec<String> = (0..25)
        .filter(|i| i % 5 != 4)
        .map(|i| expected[i].clone())
        .collect();
    let page = get_path(&aiod, "v3/platforms/huggingface/datasets?limit=1000").json();
    assert_eq!(identifiers(&page), hf);
    let page = get_path(&aiod, "v3/platforms/zenodo/datasets?offset=4").json();
    assert_eq!(identifiers(&page), [expected[24].clone()]);

    let response = get_path(&aiod, "v2/platforms/huggingface/datasets?limit=1001");
    assert_eq!(response.status, 422);
    assert_eq!(
        detail(&response),
        json!([{
            "loc": ["query", "limit"],
            "msg": "ensure this value is less than or equal to 1000",
            "type": "value_error.number.not_le",
            "ctx": {"limit_value": 1000},
        }])
    );
    let response = get_path(&aiod, "v2/datasets?offset=-1");
    assert_eq!(response.status, 422);
    assert_eq!(detail(&response)[0]["type"], "value_error.number.not_ge");

    let aiod = start(state().with_wrapped_listing(true));
    for i in 0..3 {
        aiod.insert(dataset("huggingface", i));
    }
    let wrapped = get_path(&aiod, "v2/platforms/huggingface/datasets?offset=1&limit=1").json();
    assert_eq!(wrapped["offset"], 1);
    assert_eq!(wrapped["limit"], 1);
    assert_eq!(wrapped["total_count"], 3);
    assert_eq!(wrapped["data"][0]["platform_resource_identifier"], "id1");
}

#[test]
fn delete_is_soft_and_frees_the_platform_identifier() {
    let aiod = start(state());
    let token = login(&aiod);
    let platform_id = "621ffdd236468d709f181d58";
    let identifier = create(&aiod, &token, &hf_dataset(platform_id));
    let path = format!("v2/datasets/{identifier}");

    let response = call(&aiod, "DELETE", &path, Some(&token), None);
    assert_eq!((response.status, response.body.as_str()), (200, "null"));
    let gone = format!("Dataset '{identifier}' not found in the database, because it was deleted.");
    assert_error(&get_path(&aiod, &path), 404, &gone);
    assert_error(
        &call(&aiod, "DELETE", &path, Some(&token), None),
        404,
        &gone,
    );
    let by_platform = format!("v2/platforms/huggingface/datasets/{platform_id}");
    assert_error(
        &get_path(&aiod, &by_platform),
        404,
        &format!(
            "Dataset '{platform_id}' of 'huggingface' not found in the database, because it was \
             deleted."
        ),
    );
    assert!(aiod.assets().is_empty());
    assert_eq!(aiod.deleted_count(), 1);
    assert_eq!(aiod.asset_by_platform_id("huggingface", platform_id), None);
    assert_eq!(get_path(&aiod, "v2/datasets").json(), json!([]));

    let again = create(&aiod, &token, &hf_dataset(platform_id));
    assert_ne!(again, identifier);
    assert_eq!(aiod.deleted_count(), 1);
    assert_eq!(
        get_path(&aiod, &by_platform).json()["identifier"],
        again.as_str()
    );
    assert_error(&get_path(&aiod, &path), 404, &gone);
}

#[test]
fn every_version_serves_the_same_catalogue() {
    let aiod = start(state());
    let token = login(&aiod);
    let response = call(
        &aiod,
        "POST",
        "datasets",
        Some(&token),
        Some(&hf_dataset("a")),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    let response = call(
        &aiod,
        "POST",
        "v3/datasets",
        Some(&token),
        Some(&hf_dataset("b")),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    for prefix in ["", "v2/", "v3/"] {
        let page = get_path(&aiod, &format!("{prefix}platforms/huggingface/datasets")).json();
        assert_eq!(page.as_array().unwrap().len(), 2, "{prefix}");
    }
    assert_eq!(get_path(&aiod, "v1/datasets").status, 404);
    assert_eq!(aiod.count("POST", "/datasets"), 1);
    assert_eq!(aiod.count("post", "/v3/datasets"), 1);
    assert_eq!(aiod.count("GET", "/"), 4);
}

#[test]
fn injected_faults_answer_before_the_catalogue() {
    let aiod = start(state());
    let token = login(&aiod);
    aiod.fail_next("POST", "/v2/datasets", 503, 2);
    aiod.fail_next("GET", "/v2/platforms/", 500, 1);
    let body = hf_dataset("621ffdd236468d709f181d58");
    assert_error(&post(&aiod, &token, &body), 503, "Service Unavailable");
    assert_error(&post(&aiod, &token, &body), 503, "Service Unavailable");
    assert!(aiod.assets().is_empty());
    create(&aiod, &token, &body);
    assert_eq!(aiod.count("POST", "/v2/datasets"), 3);

    let lookup = "v2/platforms/huggingface/datasets/621ffdd236468d709f181d58";
    assert_error(
        &get_path(&aiod, lookup),
        500,
        "Unexpected exception while processing your request. Please contact the maintainers.",
    );
    assert_eq!(get_path(&aiod, lookup).status, 200);

    aiod.fail_next("PUT", "/v2/datasets/", 422, 1);
    let identifier = aiod.assets()[0]["identifier"].as_str().unwrap().to_owned();
    let path = format!("v2/datasets/{identifier}");
    let response = call(&aiod, "PUT", &path, Some(&token), Some(&body));
    assert_eq!(response.status, 422);
    assert_eq!(detail(&response)[0]["loc"], json!(["body"]));
    assert_eq!(
        call(&aiod, "PUT", &path, Some(&token), Some(&body)).status,
        200
    );
}

#[test]
fn injected_faults_of_every_kind() {
    let aiod = start(state());
    let token = login(&aiod);
    let body = hf_dataset("621ffdd236468d709f181d58");
    aiod.inject("POST", "/v2/datasets", Fault::retry_after(3), 1);
    aiod.inject("post", "/v2/datasets", Fault::text_500(), 1);
    let response = post(&aiod, &token, &body);
    assert_eq!(response.status, 429);
    assert_eq!(response.header("retry-after"), Some("3"));
    let response = post(&aiod, &token, &body);
    assert_eq!(
        (response.status, response.body.trim_end()),
        (500, "Internal Server Error.")
    );
    create(&aiod, &token, &body);

    // Only the method named.
    aiod.inject("DELETE", "/", Fault::status(500), 1);
    aiod.inject("GET", "/v2/platforms/", Fault::Drop, 1);
    let lookup = "v2/platforms/huggingface/datasets/621ffdd236468d709f181d58";
    assert_dropped(&format!("{}{lookup}", aiod.api_url()));
    assert_eq!(get_path(&aiod, lookup).status, 200);

    let delay = Duration::from_millis(300);
    aiod.inject("POST", "/aiod-auth/", Fault::Delay(delay), 1);
    let started = Instant::now();
    login(&aiod);
    assert!(started.elapsed() >= delay);
    assert_eq!(aiod.count("POST", "/aiod-auth/"), 2);
}

#[test]
fn down_for_answers_everything_until_it_ends() {
    let aiod = start(state());
    let token = login(&aiod);
    aiod.inject("GET", "/authorization_test", Fault::status(500), 1);
    let down = Duration::from_millis(500);
    aiod.down_for(down, 503);
    let started = Instant::now();
    let check = call(&aiod, "GET", "authorization_test", Some(&token), None);
    let form =
        format!("grant_type=client_credentials&client_id={CONNECTOR}&client_secret={SECRET}");
    let token_response = token_request(&aiod, &form);
    for response in [&check, &token_response] {
        assert_eq!(response.status, 503);
        assert_eq!(response.header("retry-after"), Some("1"));
        assert_eq!(response.body, "Service Unavailable");
    }

    thread::sleep(down.saturating_sub(started.elapsed()) + Duration::from_millis(50));
    assert_eq!(token_request(&aiod, &form).status, 200);
    // The fault injected before waited for the service to be back.
    let check = || call(&aiod, "GET", "authorization_test", Some(&token), None).status;
    assert_eq!(check(), 500);
    assert_eq!(check(), 200);
}

#[test]
fn revoked_tokens_are_inactive() {
    let aiod = start(state());
    let token = login(&aiod);
    aiod.revoke_tokens();
    let inactive = "Invalid userinfo or inactive user - This endpoint requires authorization. \
                    You need to be logged in.";
    let response = call(&aiod, "GET", "authorization_test", Some(&token), None);
    assert_error(&response, 401, inactive);
    let response = post(&aiod, &token, &hf_dataset("621ffdd236468d709f181d58"));
    assert_error(&response, 401, inactive);
    let fresh = login(&aiod);
    let response = call(&aiod, "GET", "authorization_test", Some(&fresh), None);
    assert_eq!(response.status, 200);
}

#[test]
fn service_times_queue_requests() {
    let aiod = start(state());
    aiod.set_latency(
        Duration::from_millis(150),
        Duration::ZERO,
        Duration::from_secs(50),
    );
    let token = login(&aiod);
    let started = Instant::now();
    thread::scope(|s| {
        for id in ["a", "b"] {
            let (aiod, token) = (&aiod, &token);
            s.spawn(move || create(aiod, token, &hf_dataset(id)));
        }
    });
    // One worker: two writes take twice the service time, even in parallel.
    assert!(started.elapsed() >= Duration::from_millis(300));

    let started = Instant::now();
    assert_eq!(
        get_path(&aiod, "datasets?limit=2")
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // 2 datasets at 50 s per 1000.
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[test]
fn counting_log_sees_queued_requests_in_flight() {
    let log = local_servers::RequestLog::counting(|method, path| format!("{method} {path}"));
    let aiod = LocalAiod::start_with_log(state(), log).unwrap();
    aiod.set_latency(Duration::from_millis(100), Duration::ZERO, Duration::ZERO);
    let token = login(&aiod);
    thread::scope(|s| {
        for id in ["a", "b", "c"] {
            let (aiod, token) = (&aiod, &token);
            s.spawn(move || create(aiod, token, &hf_dataset(id)));
        }
    });
    // Queued for the one worker, all three were in flight at once.
    assert_eq!(aiod.log().max_in_flight(), 3);
    assert_eq!(aiod.log().in_flight(), 0);
    assert_eq!(aiod.log().counts().get("POST /v2/datasets"), Some(&3));
    assert_eq!(aiod.live_count(), 3);
    assert!(aiod.requests().is_empty());
}

#[test]
fn binary_serves_both_until_terminated() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_local-servers"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--aiod-addr",
            "127.0.0.1:0",
            "--client",
            "platform_huggingface:s3:cr:et:platform_huggingface,platform_example",
            "--client",
            "someone:pw:",
            "--token-lifetime",
            "60",
            "--aiod-latency",
            "0,300,0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_line = |prefix: &str| {
        let line = lines.next().unwrap().unwrap();
        line.strip_prefix(prefix).expect(&line).to_owned()
    };
    let hf = next_line("huggingface: http://");
    let api = next_line("aiod: http://");
    let auth = next_line("keycloak: http://");
    assert_ne!(hf, api.trim_end_matches('/'));
    assert_eq!(auth, format!("{api}aiod-auth/"));

    let form =
        "grant_type=client_credentials&client_id=platform_huggingface&client_secret=s3%3Acr%3Aet";
    let url = format!("http://{auth}realms/aiod/protocol/openid-connect/token");
    let token = request("POST", &url, &[], Some(form)).json();
    assert_eq!(token["expires_in"], 60);
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let response = request(
        "GET",
        &format!("http://{api}authorization_test"),
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(
        response.json()["roles"],
        json!(["platform_huggingface", "platform_example"])
    );
    let form = "grant_type=client_credentials&client_id=someone&client_secret=pw";
    assert_eq!(request("POST", &url, &[], Some(form)).status, 200);
    assert_eq!(get(&format!("http://{hf}/api/datasets")).status, 200);
    let started = Instant::now();
    let lookup = get(&format!(
        "http://{api}datasets/data_000000000000000000000000"
    ));
    assert_eq!(lookup.status, 404);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(terminated.unwrap().success());
    assert!(child.wait().unwrap().success());
}
