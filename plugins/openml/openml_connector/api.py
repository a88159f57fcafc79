"""What the plugin knows about the OpenML REST API v1 (the PHP server's JSON API)."""

import json

from aiod_plugin_sdk import Unsupported

# The endpoint name the host resolves to a base URL (default https://www.openml.org).
ENDPOINT = "openml"
# Every path lies under this prefix of the base URL.
API = "/api/v1/json"

# `error.code` of the 412 answers the plugin tells apart. OpenML sends nearly
# every error as HTTP 412, so the status alone says little.
NO_RESULTS = "372"
DATABASE_BUSY = "107"


class Refused(Unsupported):
    """The listing cannot go on (an unusable mode, a failed listing page)."""


def description_path(did):
    return f"{API}/data/{did}"


def qualities_path(did):
    return f"{API}/data/qualities/{did}"


def parse_json(body):
    """The JSON value of a response body, or None if it is not JSON.

    OpenML's PHP server has answered JSON endpoints with HTML or XML on errors,
    so a body is never assumed to be JSON.
    """
    try:
        return json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def openml_error(value):
    """`(code, message, additional_information)` of an OpenML error body, or None.

    The body is `{"error": {"code": "372", "message": "No results"}}`; `code` is
    a string on the live server but an integer in its Swagger document.
    """
    if not isinstance(value, dict) or not isinstance(value.get("error"), dict):
        return None
    error = value["error"]
    code = error.get("code")
    info = error.get("additional_information")
    return (
        str(code) if isinstance(code, (str, int)) else "",
        error.get("message") if isinstance(error.get("message"), str) else "",
        info if isinstance(info, str) and info else None,
    )


def describe_failure(status, body):
    """One line saying why a request failed, for errors and warnings."""
    if status == 0:
        # The host reports a transport failure as status 0 with the error as body.
        return f"request failed: {snippet(body)}"
    error = openml_error(parse_json(body))
    if error is None:
        return f"HTTP {status}: {snippet(body)}"
    code, message, info = error
    text = f"HTTP {status}, OpenML error {code}: {message}"
    if info:
        text += f" ({info})"
    if code == DATABASE_BUSY:
        text += "; OpenML is overloaded, try again later"
    return text


def snippet(body, limit=200):
    """The start of a body, for messages."""
    text = bytes(body).decode("utf-8", errors="replace").strip()
    return text if len(text) <= limit else text[:limit] + "…"


def dataset_id(value):
    """An OpenML dataset id as a canonical decimal string, or None.

    Ids are numbers in the list but strings in the description (the XML-derived
    templates make every value a string), so both are accepted.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value > 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
        return str(number) if number > 0 else None
    return None
