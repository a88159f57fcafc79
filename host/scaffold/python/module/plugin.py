"""Lists {{name}}'s records and maps each to an AIoD dataset body. It does no
I/O: it plans requests and maps the answers; the host performs every request."""

import json

from aiod_plugin_sdk import (
    ALL,
    ID,
    Asset,
    Connector,
    Endpoint,
    Info,
    Invalid,
    Mapped,
    Page,
    Request,
    SourceRecord,
    Unsupported,
    body,
    encode_component,
    next_link,
    snippet,
)

from . import VERSION

# The endpoint's name; the host resolves it to a base URL.
API = "api"


class Records(Connector):
    def info(self):
        return Info(
            name="{{name}}",
            version=VERSION,
            platform="{{name}}",
            endpoints=[
                Endpoint(
                    name=API,
                    default_base_url="https://example.org",
                    description="{{name}} API (records)",
                    env_override="{{ENV}}",
                )
            ],
        )

    def start(self, ctx, mode):
        if mode.kind == ALL:
            return [Request.get(API, "/api/records").json()]
        if mode.kind == ID:
            return [Request.get(API, "/api/records/" + encode_component(mode.value)).json()]
        raise Unsupported("{{name}} cannot list records modified since a date")

    def handle_page(self, ctx, mode, request, response):
        if not 200 <= response.status < 300:
            raise Unsupported(f"the listing failed: HTTP {response.status}: {snippet(response.body)}")
        try:
            items = json.loads(response.body)
        except ValueError as e:
            raise Unsupported(f"the listing is not JSON: {e}") from None
        if mode.kind == ID and isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            raise Unsupported(f"expected a list of records, got {snippet(response.body)}")
        records = [
            SourceRecord(
                id=str(item.get("id", "")),
                label=str(item.get("title", "")),
                # Changes whenever the record does: unchanged records cost nothing.
                version=str(item.get("modified", "")),
                data=json.dumps(item),
            )
            for item in items
            if isinstance(item, dict)
        ]
        link = next_link(response.headers)
        return Page(records, None if link is None else Request.get(API, link).json())

    def map(self, ctx, record, follow_ups):
        try:
            item = json.loads(record.data)
        except ValueError as e:
            raise Invalid(f"not a record: {e}") from None
        rid = item.get("id")
        if not rid:
            raise Invalid("the record has no id")
        keywords = item.get("keywords")
        fields = {
            "platform": ctx.platform,
            "platform_resource_identifier": rid,
            "name": item.get("title", ""),
            "same_as": f"https://example.org/records/{rid}",
            "description": {"plain": item["description"]} if item.get("description") else None,
            "date_published": item.get("created"),
            "license": item.get("license"),
            "keyword": [k for k in keywords if isinstance(k, str)] if isinstance(keywords, list) else None,
        }
        return Mapped(assets=[Asset("datasets", rid, body(fields))])
