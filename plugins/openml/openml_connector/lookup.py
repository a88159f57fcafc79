"""Does a dataset that a complete pass did not list still exist on OpenML?

The host asks before it deletes anything from AIoD. The dataset list shows
active datasets only, so a dataset that is deactivated (or no longer public)
leaves the list, and its description says so.
"""

from aiod_plugin_sdk import EXISTS, GONE, UNKNOWN, Existence

from .api import dataset_id, description_path, describe_failure, openml_error, parse_json

# `error.code` of the 412 answer for a dataset id that does not exist.
UNKNOWN_DATASET = "111"

def request_target(record_id):
    """The description of the dataset, or None when the id is not an OpenML id."""
    did = dataset_id(record_id)
    if did is None or did != record_id:
        return None
    return description_path(did)


def read(record_id, status, body):
    """What the description answer says: only an unknown id or a dataset that is
    not active is gone; anything else (no answer, a busy database) tells nothing."""
    payload = parse_json(body)
    error = openml_error(payload)
    if error is not None and error[0] == UNKNOWN_DATASET:
        return Existence(GONE, f"dataset {record_id} is unknown to OpenML")
    if status != 200 or error is not None:
        return Existence(UNKNOWN, describe_failure(status, body))
    desc = payload.get("data_set_description") if isinstance(payload, dict) else None
    if not isinstance(desc, dict) or dataset_id(desc.get("id")) != record_id:
        return Existence(UNKNOWN, "unreadable description: " + describe_failure(status, body))
    state = desc.get("status")
    if isinstance(state, str) and state.lower() != "active":
        return Existence(GONE, f"dataset {record_id} is {state} on OpenML")
    return Existence(EXISTS)
