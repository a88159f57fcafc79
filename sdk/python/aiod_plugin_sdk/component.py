"""The component's edge: the WIT exports componentize-py expects, each
forwarded to a `Connector` with plain types. The one place where the
generated bindings (`wit_world`, made at build time by `componentize-py
bindings`) are converted.

A plugin's entry module (the one given to `componentize-py componentize`) is:

    from aiod_plugin_sdk.component import export
    from my_plugin import MyConnector

    Types, Plugin = export(MyConnector())
"""

from . import types as t
from .connector import Connector, Unsupported


def export(connector: Connector):
    """The `Types` and `Plugin` classes that export `connector`."""
    from componentize_py_types import Err
    from wit_world import exports
    from wit_world.exports import types as wit

    def request(r):
        return wit.Request(
            endpoint=r.endpoint, target=r.target, query=list(r.query), headers=list(r.headers)
        )

    def from_request(r):
        return t.Request(r.endpoint, r.target, list(r.query), list(r.headers))

    def response(r):
        return t.Response(r.status, list(r.headers), bytes(r.body))

    def mode(m):
        if isinstance(m, wit.SyncMode_Since):
            return t.Mode(t.SINCE, m.value)
        if isinstance(m, wit.SyncMode_Id):
            return t.Mode(t.ID, m.value)
        return t.Mode(t.ALL)

    def context(c):
        return t.Context(c.platform)

    def record(r):
        return t.SourceRecord(
            r.id, r.label, r.version, r.data, [from_request(f) for f in r.follow_ups]
        )

    def refusal(e):
        # A refusal or a plugin bug stops the listing with a message, never a trap.
        if isinstance(e, Unsupported):
            return Err(str(e))
        return Err(f"plugin failed: {type(e).__name__}: {e}")

    def mapped(ctx, rec, follow_ups):
        try:
            return connector.map(
                context(ctx),
                record(rec),
                [t.FollowUp(from_request(f.request), response(f.response)) for f in follow_ups],
            )
        except t.Skip as e:
            raise Err(wit.RecordError_Skip(str(e)))
        except t.Invalid as e:
            raise Err(wit.RecordError_Invalid(str(e)))
        except Exception as e:  # a bug costs this record only, never the sync
            raise Err(wit.RecordError_Invalid(f"plugin failed: {type(e).__name__}: {e}"))

    def to_wit(m):
        return wit.Mapped(
            assets=[
                wit.Asset(
                    asset_type=a.asset_type,
                    platform_resource_identifier=a.platform_resource_identifier,
                    body=a.body,
                )
                for a in m.assets
            ],
            warnings=list(m.warnings),
        )

    verdicts = {
        t.RETRY: wit.AnswerVerdict.RETRY,
        t.AGAIN_NEXT_PASS: wit.AnswerVerdict.AGAIN_NEXT_PASS,
        t.FINAL: wit.AnswerVerdict.FINAL,
    }

    class Types(exports.Types):
        """The exported `types` interface has no functions."""

    class Plugin(exports.Plugin):
        def info(self):
            i = connector.info()
            return wit.PluginInfo(
                name=i.name,
                version=i.version,
                platform=i.platform,
                endpoints=[
                    wit.Endpoint(
                        name=e.name,
                        default_base_url=e.default_base_url,
                        env_override=e.env_override,
                        description=e.description,
                        budget=None
                        if e.budget is None
                        else wit.Budget(
                            requests=e.budget.requests,
                            requests_with_token=e.budget.requests_with_token,
                            window_seconds=e.budget.window_seconds,
                        ),
                        token_env=list(e.token_env),
                    )
                    for e in i.endpoints
                ],
                asset_types=list(i.asset_types),
            )

        def start(self, ctx, m):
            try:
                return [request(r) for r in connector.start(context(ctx), mode(m))]
            except Exception as e:
                raise refusal(e)

        def handle_page(self, ctx, m, req, resp):
            try:
                page = connector.handle_page(context(ctx), mode(m), from_request(req), response(resp))
            except Exception as e:
                raise refusal(e)
            return wit.Page(
                records=[
                    wit.SourceRecord(
                        id=r.id,
                        label=r.label,
                        version=r.version,
                        data=r.data,
                        follow_ups=[request(f) for f in r.follow_ups],
                    )
                    for r in page.records
                ],
                next=None if page.next is None else request(page.next),
            )

        def map_record(self, ctx, rec, follow_ups):
            return to_wit(mapped(ctx, rec, follow_ups))

        def probes(self, ctx):
            return [request(r) for r in connector.probes(context(ctx))]

        def answer_rules(self, ctx):
            return [
                wit.AnswerRule(
                    endpoint=r.endpoint,
                    status=r.status,
                    header=r.header,
                    values=list(r.values),
                    verdict=verdicts[r.verdict],
                )
                for r in connector.answer_rules(context(ctx))
            ]

        def map_judged(self, ctx, rec, follow_ups):
            m = mapped(ctx, rec, follow_ups)
            return wit.Judged(mapped=to_wit(m), again=m.again)

        def lookup_request(self, ctx, missing):
            try:
                return request(connector.lookup_request(context(ctx), missing_record(missing)))
            except Exception as e:
                raise refusal(e)

        def read_lookup(self, ctx, missing, resp):
            found = connector.read_lookup(context(ctx), missing_record(missing), response(resp))
            if found.kind == t.EXISTS:
                return wit.Existence_Exists()
            if found.kind == t.GONE:
                return wit.Existence_Gone(found.reason)
            return wit.Existence_Unknown(found.reason)

    def missing_record(r):
        return t.MissingRecord(r.id, r.label, r.listed)

    return Types, Plugin
