"""Planning the OpenML dataset listing and reading its pages.

A sync pages through `data/list/limit/{n}/offset/{m}` from offset 0, as the
AIoD in-repo connector does since it stopped resuming at a stored offset
(AIOD-rest-api#372: the active-only list shrinks when datasets are
deactivated, so a stored offset skipped datasets). Each listed dataset gets two
follow-ups: its description (`data/{id}`) and its qualities
(`data/qualities/{id}`).
"""

import json
import re

from aiod_plugin_sdk import ALL, ID, SINCE, Page, Request, SourceRecord

from .api import (
    API,
    ENDPOINT,
    NO_RESULTS,
    Refused,
    dataset_id,
    description_path,
    describe_failure,
    openml_error,
    parse_json,
    qualities_path,
    snippet,
)

# Datasets per listing page: the in-repo AIoD connector's `limit_per_iteration`.
PAGE_SIZE = 500

SINCE_UNSUPPORTED = (
    "OpenML cannot list datasets modified since a date: its dataset list has no "
    "modification filter and its entries carry no modification time. Use "
    "'--mode all' (datasets whose AIoD body has not changed are not uploaded "
    "again) or '--mode id'."
)

_PAGE = re.compile(r"/data/list/limit/(\d+)/offset/(\d+)$")


def planned(target):
    """A GET of `target` on the one OpenML endpoint, asking for JSON."""
    return Request.get(ENDPOINT, target).json()


def list_page(offset, limit=PAGE_SIZE):
    return planned(f"{API}/data/list/limit/{limit}/offset/{offset}")


def start(mode, value=None):
    """The first request of a sync; raises `Refused` for an unusable mode."""
    if mode == ALL:
        return [list_page(0)]
    if mode == SINCE:
        raise Refused(SINCE_UNSUPPORTED)
    if mode == ID:
        did = dataset_id(value)
        if did is None or did != value:
            raise Refused(f"'id' needs an OpenML dataset id such as '61', got {value!r}")
        # The list filtered by id gives the same entry as a full listing, so
        # `id` mode maps a dataset exactly as `all` mode does.
        return [planned(f"{API}/data/list/data_id/{did}")]
    raise Refused(f"unknown sync mode {mode!r}")


def probes():
    """A listing of one dataset: shows that the API answers (`aiod-host check`)."""
    return [planned(f"{API}/data/list/limit/1")]


def handle_page(mode, value, target, status, body):
    """Reads one listing response: its datasets and the next page request."""
    payload = parse_json(body)
    error = openml_error(payload)
    if error is not None and error[0] == NO_RESULTS:
        # OpenML answers an empty result with 412 "No results" instead of an
        # empty list; after an exactly full last page this is the normal end.
        if mode == ID:
            raise Refused(
                f"OpenML lists no active dataset with id {value} "
                f"({describe_failure(status, body)}); it may not exist, "
                "be deactivated or be private"
            )
        return Page([], None)
    if status != 200 or error is not None:
        what = f"listing of dataset {value}" if mode == ID else "dataset listing"
        raise Refused(f"{what} failed: {describe_failure(status, body)}")
    if payload is None:
        raise Refused(f"OpenML answered the listing with invalid JSON: {snippet(body)}")
    data = payload.get("data") if isinstance(payload, dict) else None
    entries = data.get("dataset") if isinstance(data, dict) else None
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        raise Refused(
            'expected a listing like {"data": {"dataset": [...]}}, got ' + snippet(body)
        )

    records = [found(index, entry) for index, entry in enumerate(entries)]
    if mode == ID:
        # Only the asked-for dataset, whatever else the server sent.
        records = [r for r in records if r.id == value]
        return Page(records, None)
    return Page(records, next_page(target, len(entries)))


def next_page(target, count):
    """The following page, unless this one was short (then it was the last)."""
    page = _PAGE.search(target.split("?", 1)[0])
    if page is None:
        return None
    limit, offset = int(page.group(1)), int(page.group(2))
    if limit == 0 or count < limit:
        return None
    return list_page(offset + limit, limit)


def found(index, entry):
    """The source record of one list entry."""
    did = dataset_id(entry.get("did")) if isinstance(entry, dict) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    name = name if isinstance(name, str) else ""
    data = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
    if did is None:
        # Still reported (by position), so the host logs it as invalid.
        return SourceRecord(id=f"#{index}", label=name, version="", data=data)
    return SourceRecord(
        id=did,
        label=name or did,
        # Empty: OpenML gives no modification time, and the list entry does not
        # change when a description or tag is edited, so any version built from
        # it would hide such edits for good (AIOD-rest-api#238). The host
        # fetches records with an empty version every time and still uploads
        # only bodies that changed.
        version="",
        data=data,
        follow_ups=[planned(description_path(did)), planned(qualities_path(did))],
    )

