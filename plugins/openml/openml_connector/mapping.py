"""OpenML dataset -> AIoD `Dataset` body, as the AIoD OpenML connector maps it.

Sources: the list entry (the record), the description `data/{id}` and the
qualities `data/qualities/{id}` (the follow-ups). The field mapping follows the
AIoD connectors (`openml_dataset_connector.py` in AIOD-rest-api and the
stand-alone openml-connector), with their known bugs fixed:

- a single tag comes back from OpenML as a plain string; it becomes one
  keyword (the in-repo connector made one keyword per character, the external
  one sent a string where AIoD expects a list);
- a description of an unexpected type, a non-integral or empty
  `NumberOfInstances`, an unreadable date or failed qualities cost that field
  and a warning, not the whole dataset;
- values OpenML leaves empty (`[]`) or out are omitted, never sent as null:
  the AIoD schema declares no nullable field.

Also: the MD5 checksum OpenML publishes is sent with the distribution, and the
size falls back to the list entry's `NumberOfInstances` when the qualities
request fails.
"""

import json
import re
from dataclasses import dataclass

from aiod_plugin_sdk import Invalid, Skip

from .api import dataset_id, describe_failure, parse_json

# The AIoD connectors' cap on descriptions (in-repo `field_length.LONG`,
# external `MAX_DESCRIPTION_LENGTH`), in characters; AIoD itself allows more,
# but keeping the cap keeps the bodies equal to what the catalogue holds.
MAX_DESCRIPTION_CHARS = 1800
TRUNCATION_MARK = " [...]"

# As the AIoD connectors send it; the plugin does not know the configured base
# URL, and `same_as` must name the public OpenML dataset anyway.
SAME_AS = "https://www.openml.org/api/v1/json/data/{}"

_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


class InvalidRecord(Invalid):
    """The record cannot be mapped (malformed, or its description is missing)."""


class SkipRecord(Skip):
    """The record is deliberately not uploaded."""


@dataclass(frozen=True)
class Reply:
    """A follow-up response; status 0 means the host got none (body says why)."""

    status: int
    body: bytes


@dataclass
class MappedDataset:
    platform_resource_identifier: str
    body: str
    warnings: list


def map_dataset(platform, data, description, qualities):
    """Maps one list entry (JSON text) with its description and qualities replies."""
    try:
        entry = json.loads(data)
    except ValueError as e:
        raise InvalidRecord(f"not an OpenML list entry: {e}") from None
    if not isinstance(entry, dict):
        raise InvalidRecord(f"not an OpenML list entry: {data[:200]}")
    did = dataset_id(entry.get("did"))
    if did is None:
        raise InvalidRecord(f"list entry has no valid 'did': {data[:200]}")

    desc = read_description(did, description)
    if dataset_id(desc.get("id")) not in (None, did):
        raise InvalidRecord(f"description of dataset {did} is of dataset {desc.get('id')!r}")
    status = desc.get("status")
    if isinstance(status, str) and status.lower() != "active":
        # The listing only shows active datasets; this one changed meanwhile.
        raise SkipRecord(f"dataset {did} is {status} on OpenML")
    name = text(desc.get("name")) or text(entry.get("name"))
    if not name:
        raise InvalidRecord(f"dataset {did} has no name")

    warnings = []
    body = {
        "platform": platform,
        "platform_resource_identifier": did,
        "name": name,
        "same_as": SAME_AS.format(did),
    }
    plain = description_text(did, desc.get("description"), warnings)
    if plain:
        body["description"] = {"plain": plain}
    published = date_time(did, desc.get("upload_date"), warnings)
    if published:
        body["date_published"] = published
    # OpenML spells it `licence`; `license` is read too, as the newest connector does.
    licence = text(desc.get("licence")) or text(desc.get("license"))
    if licence:
        body["license"] = licence
    version = text(desc.get("version")) or text(entry.get("version"))
    if version:
        body["version"] = version
    body["is_accessible_for_free"] = True
    body["keyword"] = keywords(did, desc.get("tag"), warnings)
    body["distribution"] = distribution(did, desc, warnings)
    instances = number_of_instances(did, entry, qualities, warnings)
    if instances is not None:
        body["size"] = {"value": instances, "unit": "instances"}

    return MappedDataset(
        platform_resource_identifier=did,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        warnings=warnings,
    )


def read_description(did, reply):
    """The `data_set_description` object, or `InvalidRecord`.

    Without its description a dataset is not mapped at all: an asset built
    from the list entry alone would overwrite a complete one in AIoD with a
    bare one. The next sync fetches it again.
    """
    if reply is None:
        raise InvalidRecord(f"no description of dataset {did} was fetched")
    if reply.status != 200:
        raise InvalidRecord(
            f"description of dataset {did} unavailable: "
            + describe_failure(reply.status, reply.body)
        )
    payload = parse_json(reply.body)
    desc = payload.get("data_set_description") if isinstance(payload, dict) else None
    if not isinstance(desc, dict):
        raise InvalidRecord(
            f"description of dataset {did} unreadable: "
            + describe_failure(reply.status, reply.body)
        )
    return desc


def text(value):
    """A non-empty string value (numbers as text), else None.

    OpenML renders an empty element as `[]`, so anything else is no value.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def description_text(did, value, warnings):
    """The description, cut to the connectors' 1,800 characters."""
    if value is None or value == []:
        return None
    if not isinstance(value, str):
        warnings.append(
            f"description of dataset {did} is a {type(value).__name__}, not text; left out"
        )
        return None
    if not value.strip():
        return None
    return truncate(value)


def truncate(value):
    if len(value) <= MAX_DESCRIPTION_CHARS:
        return value
    return value[: MAX_DESCRIPTION_CHARS - len(TRUNCATION_MARK)] + TRUNCATION_MARK


def date_time(did, value, warnings):
    """`upload_date` as ISO 8601; OpenML writes `T` or a space and no zone."""
    if value is None or value == []:
        return None
    match = _DATETIME.match(value) if isinstance(value, str) else None
    if match is None:
        warnings.append(f"cannot read upload_date of dataset {did}: {value!r}; left out")
        return None
    day, time, zone = match.groups()
    time = time or "00:00:00"
    if len(time) == 5:
        time += ":00"
    return f"{day}T{time}{zone or ''}"


def keywords(did, tag, warnings):
    """`tag`: a list of tags, a single tag as a plain string, or absent."""
    if tag is None:
        return []
    tags = [tag] if isinstance(tag, str) else tag
    if not isinstance(tags, list):
        warnings.append(f"cannot read tags of dataset {did}: {tag!r}")
        return []
    out = []
    for t in tags:
        if isinstance(t, str) and t.strip():
            if t not in out:
                out.append(t)
        elif t != []:
            warnings.append(f"skipped a tag of dataset {did} that is no text: {t!r}")
    return out


def distribution(did, desc, warnings):
    """The data file: OpenML's download URL and format (e.g. `ARFF`)."""
    url = text(desc.get("url"))
    if not url:
        warnings.append(f"dataset {did} has no download url; no distribution")
        return []
    file = {"content_url": url}
    encoding = text(desc.get("format"))
    if encoding:
        file["encoding_format"] = encoding
    md5 = text(desc.get("md5_checksum"))
    if md5:
        file["checksum"] = md5
        file["checksum_algorithm"] = "md5"
    return [file]


def number_of_instances(did, entry, reply, warnings):
    """`NumberOfInstances` from the qualities, else from the list entry."""
    qualities = None
    if reply is not None and reply.status == 200:
        payload = parse_json(reply.body)
        inner = payload.get("data_qualities") if isinstance(payload, dict) else None
        qualities = inner.get("quality") if isinstance(inner, dict) else None
        if qualities is None:
            warnings.append(f"qualities of dataset {did} unreadable")
    elif reply is not None:
        warnings.append(
            f"qualities of dataset {did} unavailable: {describe_failure(reply.status, reply.body)}"
        )
    found, value = quality(qualities, "NumberOfInstances")
    if not found:
        found, value = quality(entry.get("quality"), "NumberOfInstances")
    if not found or value is None or value == []:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not number.is_integer() or number < 0:
        warnings.append(
            f"NumberOfInstances of dataset {did} is not a whole number: {value!r}; no size"
        )
        return None
    return int(number)


def quality(qualities, name):
    """`(found, value)` of quality `name` in a list of `{name, value}`."""
    if isinstance(qualities, dict):
        # The XML-derived JSON collapses a list of one into the element itself.
        qualities = [qualities]
    if not isinstance(qualities, list):
        return False, None
    for q in qualities:
        if isinstance(q, dict) and q.get("name") == name:
            return True, q.get("value")
    return False, None
