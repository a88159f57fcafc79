"""The OpenML plugin for aiod-host: the `connector` world of `wit/connector.wit`.

It plans the OpenML dataset listing and its per-dataset follow-ups and maps each
dataset to an AIoD `Dataset` body; the host performs every request. This file
only adapts `openml_connector` (plain Python, unit-tested without any
WebAssembly tooling) to the WIT types that componentize-py generates into
`wit_world` at build time.
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import types as wit

from openml_connector import VERSION, listing, lookup, mapping
from openml_connector.api import ENDPOINT, Refused, description_path, qualities_path


def _request(planned):
    return wit.Request(
        endpoint=planned.endpoint,
        target=planned.target,
        query=[],
        headers=[("accept", "application/json")],
    )


def _mode(mode):
    """The WIT sync mode as `(kind, value)`."""
    if isinstance(mode, wit.SyncMode_Since):
        return listing.SINCE, mode.value
    if isinstance(mode, wit.SyncMode_Id):
        return listing.ID, mode.value
    return listing.ALL, None


class Types(exports.Types):
    """The exported `types` interface has no functions."""


class Plugin(exports.Plugin):
    def info(self):
        return wit.PluginInfo(
            name="openml",
            version=VERSION,
            platform="openml",
            endpoints=[
                wit.Endpoint(
                    name=ENDPOINT,
                    default_base_url="https://www.openml.org",
                    env_override="OPENML_ENDPOINT",
                    description="OpenML REST API v1 (dataset list, descriptions, qualities)",
                    # OpenML documents no request budget for its v1 API;
                    # operators can still set one with `--budget openml=N/SECS`.
                    budget=None,
                    # Public datasets need no API key.
                    token_env=[],
                )
            ],
            asset_types=["datasets"],
        )

    def start(self, ctx, mode):
        try:
            return [_request(p) for p in listing.start(*_mode(mode))]
        except Refused as e:
            raise Err(str(e))

    def handle_page(self, ctx, mode, request, response):
        kind, value = _mode(mode)
        try:
            page = listing.handle_page(kind, value, request.target, response.status, response.body)
        except Refused as e:
            raise Err(str(e))
        except Exception as e:  # a plugin bug must stop the listing with a message, not a trap
            raise Err(f"OpenML plugin failed on a listing page: {type(e).__name__}: {e}")
        return wit.Page(
            records=[
                wit.SourceRecord(
                    id=r.id,
                    label=r.label,
                    version=r.version,
                    data=r.data,
                    follow_ups=[_request(f) for f in r.follow_ups],
                )
                for r in page.records
            ],
            next=_request(page.next) if page.next else None,
        )

    def probes(self, ctx):
        return [_request(p) for p in listing.probes()]

    def answer_rules(self, ctx):
        # OpenML tells its errors apart in the body (nearly all are HTTP 412),
        # so the host's defaults by status are all a rule could say.
        return []

    def map_judged(self, ctx, record, follow_ups):
        # A failed follow-up already fails the record (then it is mapped again);
        # what is mapped stands otherwise.
        return wit.Judged(mapped=self.map_record(ctx, record, follow_ups), again=None)

    def lookup_request(self, ctx, record):
        target = lookup.request_target(record.id)
        if target is None:
            raise Err(f"{record.id!r} is not an OpenML dataset id, so it cannot be looked up")
        return _request(listing.Planned(target))

    def read_lookup(self, ctx, record, response):
        found = lookup.read(record.id, response.status, response.body)
        if found.kind == lookup.EXISTS:
            return wit.Existence_Exists()
        if found.kind == lookup.GONE:
            return wit.Existence_Gone(found.reason)
        return wit.Existence_Unknown(found.reason)

    def map_record(self, ctx, record, follow_ups):
        replies = {
            f.request.target.split("?", 1)[0]: mapping.Reply(f.response.status, f.response.body)
            for f in follow_ups
            if f.request.endpoint == ENDPOINT
        }
        try:
            out = mapping.map_dataset(
                ctx.platform,
                record.data,
                replies.get(description_path(record.id)),
                replies.get(qualities_path(record.id)),
            )
        except mapping.SkipRecord as e:
            raise Err(wit.RecordError_Skip(str(e)))
        except mapping.InvalidRecord as e:
            raise Err(wit.RecordError_Invalid(str(e)))
        except Exception as e:  # a bug costs this record only, never the sync
            raise Err(wit.RecordError_Invalid(f"OpenML plugin failed: {type(e).__name__}: {e}"))
        return wit.Mapped(
            assets=[
                wit.Asset(
                    asset_type="datasets",
                    platform_resource_identifier=out.platform_resource_identifier,
                    body=out.body,
                )
            ],
            warnings=out.warnings,
        )
