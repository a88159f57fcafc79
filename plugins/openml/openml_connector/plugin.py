"""The OpenML plugin as an `aiod_plugin_sdk.Connector`: what the host calls,
in plain Python over the SDK's types (`app.py` only exports it)."""

from aiod_plugin_sdk import Asset, Connector, Endpoint, Info, Mapped, Unsupported

from . import VERSION, listing, lookup, mapping
from .api import ENDPOINT, description_path, qualities_path


class OpenML(Connector):
    def info(self):
        return Info(
            name="openml",
            version=VERSION,
            platform="openml",
            endpoints=[
                Endpoint(
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
        return listing.start(mode.kind, mode.value)

    def handle_page(self, ctx, mode, request, response):
        return listing.handle_page(
            mode.kind, mode.value, request.target, response.status, response.body
        )

    def probes(self, ctx):
        return listing.probes()

    # No answer rules: OpenML tells its errors apart in the body (nearly all
    # are HTTP 412), so the host's defaults by status are all a rule could say.

    def map(self, ctx, record, follow_ups):
        # A failed follow-up already fails the record (then it is mapped again);
        # what is mapped stands otherwise.
        replies = {
            f.request.target.split("?", 1)[0]: mapping.Reply(f.response.status, f.response.body)
            for f in follow_ups
            if f.request.endpoint == ENDPOINT
        }
        out = mapping.map_dataset(
            ctx.platform,
            record.data,
            replies.get(description_path(record.id)),
            replies.get(qualities_path(record.id)),
        )
        return Mapped(
            assets=[Asset("datasets", out.platform_resource_identifier, out.body)],
            warnings=out.warnings,
        )

    def lookup_request(self, ctx, record):
        target = lookup.request_target(record.id)
        if target is None:
            raise Unsupported(
                f"{record.id!r} is not an OpenML dataset id, so it cannot be looked up"
            )
        return listing.planned(target)

    def read_lookup(self, ctx, record, response):
        return lookup.read(record.id, response.status, response.body)

