"""Shared helpers of the OpenML plugin's tests: the plugin and the Python SDK on `sys.path`, the recorded
responses in `data/`, and a small checker for the AIoD `DatasetCreate` schema.

`data/` holds verbatim copies of recorded OpenML responses (from `aiondemand/AIOD-rest-api`'s
connector test resources, scikit-learn's OpenML fixtures and OpenML's documentation): `data-*.json` are the
responses AIOD-rest-api tests its OpenML connector with (datasets 2, 3 and 4, list pages of
2), the `*-412-*` files OpenML's error answers, `sklearn-data-*.json` scikit-learn's fixtures
(for their shapes: a single tag as a string, deactivated datasets, lists of creators),
`test-server-data-130.json` a description that is `[]`, and `docs-*.json` the examples of
OpenML's API documentation.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGIN = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(PLUGIN))
SDK = os.path.join(ROOT, "sdk", "python")
for path in (SDK, PLUGIN):
    if path not in sys.path:
        sys.path.insert(0, path)

from openml_connector.mapping import Reply  # noqa: E402


def raw(name):
    """The bytes of `data/<name>`."""
    with open(os.path.join(HERE, "data", name), "rb") as f:
        return f.read()


def load(name):
    return json.loads(raw(name))


def ok(name):
    """`data/<name>` as a 200 reply."""
    return Reply(200, raw(name))


def list_entries(*names):
    """The list entries of the recorded list pages, in order."""
    entries = []
    for name in names or ("data-list-limit-2-offset-0.json", "data-list-limit-2-offset-2.json"):
        entries.extend(load(name)["data"]["dataset"])
    return entries


def entry_text(entry):
    return json.dumps(entry)


_SCHEMA = None


def schema_errors(body, name="DatasetCreate"):
    """Where `body` breaks the AIoD schema (`aiod-schema/openapi.json`): unknown keys, wrong
    types, too long strings, nulls. Enough to catch mapping mistakes; the host validates fully."""
    global _SCHEMA
    if _SCHEMA is None:
        with open(os.path.join(ROOT, "aiod-schema", "openapi.json")) as f:
            _SCHEMA = json.load(f)["components"]["schemas"]
    errors = []
    _check(body, _SCHEMA[name], name, errors)
    return errors


def _resolve(schema):
    while True:
        if "$ref" in schema:
            schema = _SCHEMA[schema["$ref"].rsplit("/", 1)[-1]]
        elif "allOf" in schema and len(schema["allOf"]) == 1:
            schema = schema["allOf"][0]
        else:
            return schema


def _check(value, schema, path, errors):
    schema = _resolve(schema)
    kind = schema.get("type")
    if value is None:
        errors.append(f"{path}: null")
        return
    if kind == "object" or "properties" in schema:
        if not isinstance(value, dict):
            errors.append(f"{path}: not an object")
            return
        for key, item in value.items():
            if key not in schema.get("properties", {}):
                errors.append(f"{path}.{key}: not in the schema")
            else:
                _check(item, schema["properties"][key], f"{path}.{key}", errors)
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path}.{key}: missing")
    elif kind == "array":
        if not isinstance(value, list):
            errors.append(f"{path}: not a list")
            return
        for i, item in enumerate(value):
            _check(item, schema.get("items", {}), f"{path}[{i}]", errors)
    elif kind == "string":
        if not isinstance(value, str):
            errors.append(f"{path}: not a string")
        elif len(value) > schema.get("maxLength", len(value)):
            errors.append(f"{path}: longer than {schema['maxLength']}")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{path}: not an integer")
    elif kind == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{path}: not a boolean")
