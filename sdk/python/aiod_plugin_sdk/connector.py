"""The base class of a plugin: every function of the contract, in plain Python."""

from .types import Existence, UNKNOWN


class Unsupported(Exception):
    """A mode or request the plugin cannot serve; its message tells the operator why."""


class Connector:
    """Subclass it, implement `info`, `start`, `handle_page` and `map`, and
    export it with `aiod_plugin_sdk.component.export`. The others have defaults.

    `start`, `handle_page` and `lookup_request` raise `Unsupported` (or any
    exception: its message is passed on) to refuse; `map` raises `Skip` or
    `Invalid`, and any other exception costs that record only."""

    def info(self):
        raise NotImplementedError

    def start(self, ctx, mode):
        """The first request(s) of a sync."""
        raise NotImplementedError

    def handle_page(self, ctx, mode, request, response):
        """One listing answer as a `Page`."""
        raise NotImplementedError

    def map(self, ctx, record, follow_ups):
        """One record and its follow-up answers as `Mapped` assets."""
        raise NotImplementedError

    def probes(self, ctx):
        """Cheap requests showing each endpoint answers; by default none (the
        host probes with the first request of an `all` sync)."""
        return []

    def answer_rules(self, ctx):
        """How final the answers of the plugin's endpoints are; by default
        none (the host's verdicts: retry 429 and 5xx, the rest final)."""
        return []

    def lookup_request(self, ctx, record):
        """The request asking whether a missing record still exists; by default
        it cannot be asked, and its assets stay."""
        raise Unsupported("this plugin does not look records up")

    def read_lookup(self, ctx, record, response):
        return Existence(UNKNOWN, "this plugin does not read lookups")
