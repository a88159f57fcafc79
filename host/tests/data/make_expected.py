#!/usr/bin/env python3
"""Generate the expected AIoD bodies for the recorded Hugging Face listing.

What this is
------------
An independent, stdlib-only (Python 3.11) re-implementation of the conversion
done by the current upstream Python connector, `aiondemand/huggingface-connector`
`src/connector.py` `_convert_dataset_to_aiod` (+ its helper `_get_distribution_data`).
Its output, `host/tests/data/expected/huggingface-recorded.jsonl`, is the expected
result for our Rust mapping tests, so the Rust mapping is checked against a second
implementation rather than against itself. It deliberately shares no code or data
with the Rust crate.

Rerun (from the repository root):

    python3 host/tests/data/make_expected.py > host/tests/data/expected/huggingface-recorded.jsonl

Inputs are read from `local-servers/data/huggingface/` relative to the repository
root (`data_list.json`, a recorded `GET https://huggingface.co/api/datasets?full=True`
page, and `parquet_<id with "/" -> "_">.json`, recorded
`GET https://datasets-server.huggingface.co/parquet?dataset=<id>` bodies).
`--data DIR` reads them from another directory (same file names), e.g. the
read-only reference copy `aiod-rest-api-test-resources/`.

Output: one JSON object per line, one line per dataset in listing order:
    {"asset_type":"datasets","platform_resource_identifier":<_id>,"body":<body>}
serialised with json.dumps(ensure_ascii=False, separators=(",", ":")), UTF-8, "\\n".

Mapping (upstream behaviour unless marked DEVIATION)
----------------------------------------------------
  platform                     "huggingface"
  platform_resource_identifier HF "_id"
  name                         HF "id"
  same_as                      "https://huggingface.co/datasets/" + id
  description                  {"plain": description}; if its UTF-8 encoding is longer
                               than 65,535 bytes it is cut on a character boundary to
                               at most 65,529 bytes and " [...]" is appended.
  date_published               HF "createdAt" string, verbatim.
  license                      cardData.license: a non-empty string as is; a non-empty
                               list -> its first element; anything else -> none.
  distribution                 one entry per /parquet file, in file order:
                               {name: filename,
                                description: "<dataset>. Config: <config>. Split: <split>",
                                content_url: url, content_size_kb: ceil(size / 1000)};
                               [] if /parquet did not answer 2xx (the recorded error
                               body {"error": ...}, served with 404) or has no file.
  is_accessible_for_free       not private
  keyword                      HF "tags", verbatim and in order.
Key order: platform, platform_resource_identifier, name, same_as, description,
date_published, license, distribution, is_accessible_for_free, keyword.

DEVIATION (deliberate, ours): a key whose upstream value would be null/None is
omitted (the AIoD OpenAPI schema has no nullable types). Concretely: no "license"
key when there is none; no "description" key when the HF description is absent,
null or "" (upstream sends {"plain": null} / {"plain": ""}); no "date_published"
when createdAt is absent/null/"". "distribution" and "keyword" are always present
(possibly []; upstream would send "keyword": null when HF has no tags).

Known further differences from the upstream code (as specified for our connector;
none of them changes the recorded fixture except the date format, see below):
  * Truncation: upstream counts *characters* (len(str) > 65535 -> first 65,529
    characters + " [...]"); here it counts UTF-8 *bytes*, because the catalogue
    stores `plain` in a 65,535-byte MySQL TEXT column. No recorded description comes
    close (longest: 344 bytes), so this is covered by --self-test only.
  * date_published: upstream sends `created_at.isoformat()` of the datetime that
    huggingface_hub parsed, i.e. "2022-03-02T23:29:22+00:00"; here the HF string is
    copied verbatim ("2022-03-02T23:29:22.000Z"). Same instant, different text.
  * Recorded files carry no HTTP status: a /parquet file whose body has no
    "parquet_files" list (the {"error": ...} body) is treated as a non-2xx answer,
    and a missing parquet_<id>.json file as "no distribution".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PLATFORM_NAME = "huggingface"
MAX_TEXT_BYTES = 65535
TEXT_BREAK = " [...]"  # 6 bytes in UTF-8

REPO_ROOT = Path(__file__).resolve().parents[3]  # host/tests/data/make_expected.py
DEFAULT_DATA_DIR = REPO_ROOT / "local-servers" / "data" / "huggingface"


def truncate_utf8(text: str, max_bytes: int = MAX_TEXT_BYTES, suffix: str = TEXT_BREAK) -> str:
    """Return text unchanged if its UTF-8 encoding fits in max_bytes; otherwise cut it on a
    character boundary to at most max_bytes - len(suffix in bytes) bytes and append suffix."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    budget = max_bytes - len(suffix.encode("utf-8"))
    cut = budget
    # Step back over UTF-8 continuation bytes (0b10xxxxxx) so no character is split.
    while cut > 0 and (encoded[cut] & 0xC0) == 0x80:
        cut -= 1
    return encoded[:cut].decode("utf-8") + suffix


def parquet_path(data_dir: Path, dataset_id: str) -> Path:
    return data_dir / f"parquet_{dataset_id.replace('/', '_')}.json"


def distributions(data_dir: Path, dataset_id: str) -> list[dict]:
    path = parquet_path(data_dir, dataset_id)
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        response = json.load(f)
    files = response.get("parquet_files") if isinstance(response, dict) else None
    if not isinstance(files, list):
        # Error body (e.g. {"error": "Not found."}, served with HTTP 404): upstream logs and returns [].
        return []
    result = []
    for pq_file in files:
        size = pq_file["size"]
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"{path}: non-integer size {size!r}")
        result.append(
            {
                "name": pq_file["filename"],
                "description": (
                    f"{pq_file['dataset']}. Config: {pq_file['config']}. Split: {pq_file['split']}"
                ),
                "content_url": pq_file["url"],
                # == math.ceil(size / 1000), in exact integer arithmetic
                "content_size_kb": -(-size // 1000),
            }
        )
    return result


def license_of(dataset: dict) -> str | None:
    card = dataset.get("cardData")
    if not card or not isinstance(card, dict):
        return None
    license_ = card.get("license")
    if not license_:
        return None
    if isinstance(license_, str):
        return license_
    if isinstance(license_, list):
        return license_[0]
    return None  # upstream: warning "Cannot parse license data", no license


def convert(dataset: dict, data_dir: Path) -> dict:
    dataset_id = dataset["id"]
    body: dict = {
        "platform": PLATFORM_NAME,
        "platform_resource_identifier": dataset["_id"],
        "name": dataset_id,
        "same_as": f"https://huggingface.co/datasets/{dataset_id}",
    }

    description = dataset.get("description")
    if description is not None and not isinstance(description, str):
        raise TypeError(f"{dataset_id}: description is {type(description).__name__}, not a string")
    if description:  # None, absent and "" are omitted (our deviation)
        body["description"] = {"plain": truncate_utf8(description)}

    created_at = dataset.get("createdAt")
    if created_at:
        body["date_published"] = created_at

    license_ = license_of(dataset)
    if license_ is not None:
        body["license"] = license_

    body["distribution"] = distributions(data_dir, dataset_id)
    body["is_accessible_for_free"] = not dataset.get("private")
    tags = dataset.get("tags")
    body["keyword"] = list(tags) if tags is not None else []
    return body


def self_test() -> None:
    assert truncate_utf8("abc") == "abc"
    exact = "a" * MAX_TEXT_BYTES
    assert truncate_utf8(exact) == exact
    long_ascii = "a" * (MAX_TEXT_BYTES + 1)
    out = truncate_utf8(long_ascii)
    assert out == "a" * (MAX_TEXT_BYTES - 6) + " [...]" and len(out.encode()) == MAX_TEXT_BYTES
    # 65,535 characters but 131,070 bytes: cut by bytes, never inside a character.
    two_byte = "é" * MAX_TEXT_BYTES
    out = truncate_utf8(two_byte)
    assert out == "é" * ((MAX_TEXT_BYTES - 6) // 2) + " [...]", len(out)
    assert len(out.encode()) == 65528 + 6
    # 4-byte characters straddling the cut point.
    four_byte = "x" + "😀" * 20000
    out = truncate_utf8(four_byte)
    assert out.endswith(" [...]") and len(out.encode()) <= MAX_TEXT_BYTES
    assert out == "x" + "😀" * ((MAX_TEXT_BYTES - 6 - 1) // 4) + " [...]"
    assert -(-1 // 1000) == 1 and -(-1000 // 1000) == 1 and -(-1001 // 1000) == 2 and -(-0 // 1000) == 0
    print("self-test ok", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"directory with data_list.json and parquet_*.json (default: {DEFAULT_DATA_DIR})",
    )
    parser.add_argument("--self-test", action="store_true", help="check the truncation helper and exit")
    args = parser.parse_args()

    if args.self_test:
        self_test()
        return 0

    with (args.data / "data_list.json").open(encoding="utf-8") as f:
        listing = json.load(f)
    if not isinstance(listing, list):
        raise TypeError("data_list.json must be a JSON array (one listing page)")

    sys.stdout.reconfigure(encoding="utf-8", newline="\n")
    for dataset in listing:
        line = {
            "asset_type": "datasets",
            "platform_resource_identifier": dataset["_id"],
            "body": convert(dataset, args.data),
        }
        sys.stdout.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
