"""The contract's types in plain Python: what a `Connector` takes and returns.

They mirror the WIT records of `aiod:connector` one to one; `component.py`
converts them at the component's edge, so plugin code never touches the
bindings componentize-py generates, and runs under a stock `python3`.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Budget:
    """Requests allowed per fixed window (the larger one with a token)."""

    requests: int
    requests_with_token: int
    window_seconds: int


@dataclass(frozen=True)
class Endpoint:
    """A remote service; the host resolves `name` to a base URL and sends the
    plugin's requests only to declared endpoints."""

    name: str
    default_base_url: str
    description: str
    env_override: str | None = None
    budget: Budget | None = None
    token_env: list = field(default_factory=list)


@dataclass(frozen=True)
class Info:
    """What a plugin says about itself."""

    name: str
    version: str
    platform: str
    endpoints: list
    asset_types: list = field(default_factory=lambda: ["datasets"])


@dataclass(frozen=True)
class Context:
    """Settings the host passes to every call: the AIoD platform name."""

    platform: str


ALL, SINCE, ID = "all", "since", "id"


@dataclass(frozen=True)
class Mode:
    """What to synchronise: `kind` is `ALL`, `SINCE` (value: an RFC 3339
    instant) or `ID` (value: a record's platform identifier)."""

    kind: str
    value: str | None = None


@dataclass(frozen=True)
class Request:
    """A GET request for the host to perform."""

    endpoint: str
    target: str
    query: list = field(default_factory=list)
    headers: list = field(default_factory=list)

    @staticmethod
    def get(endpoint, target):
        return Request(endpoint, target)

    def with_query(self, name, value):
        return Request(self.endpoint, self.target, [*self.query, (name, value)], self.headers)

    def with_header(self, name, value):
        return Request(self.endpoint, self.target, self.query, [*self.headers, (name, value)])

    def json(self):
        """Asks for JSON (`accept: application/json`)."""
        return self.with_header("accept", "application/json")


@dataclass(frozen=True)
class Response:
    """An answer as the host received it; status 0 means none (the body says why)."""

    status: int
    headers: list
    body: bytes

    def header(self, name):
        """The first value of header `name` (any case), stripped; None if absent."""
        name = name.lower()
        for n, v in self.headers:
            if n.lower() == name:
                return v.strip()
        return None


@dataclass(frozen=True)
class SourceRecord:
    """One record found in a listing."""

    id: str
    label: str
    version: str
    data: str
    follow_ups: list = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    """What one listing answer gave: records, and the next request (None: the end)."""

    records: list
    next: Request | None = None


@dataclass(frozen=True)
class FollowUp:
    request: Request
    response: Response


@dataclass(frozen=True)
class Asset:
    """One asset to upload: its AIoD type, platform id and JSON body."""

    asset_type: str
    platform_resource_identifier: str
    body: str


@dataclass
class Mapped:
    """What mapping one record gave. `again` says why it must be mapped again
    on the next pass although its version does not change (None: it stands)."""

    assets: list
    warnings: list = field(default_factory=list)
    again: str | None = None


class Skip(Exception):
    """The record is deliberately not uploaded (the message is logged); AIoD's
    assets of it from before are deleted."""


class Invalid(Exception):
    """The record cannot be mapped; the host reports it and goes on."""


RETRY, AGAIN_NEXT_PASS, FINAL = "retry", "again-next-pass", "final"


@dataclass(frozen=True)
class AnswerRule:
    """Answers of `endpoint` with `status` (and, if set, `header` with one of
    `values`, or any value when `values` is empty) get `verdict`: `RETRY`,
    `AGAIN_NEXT_PASS` or `FINAL`."""

    endpoint: str
    status: int
    verdict: str
    header: str | None = None
    values: list = field(default_factory=list)


@dataclass(frozen=True)
class MissingRecord:
    """A record a complete pass did not list, although AIoD holds assets of it."""

    id: str
    label: str
    listed: bool


EXISTS, GONE, UNKNOWN = "exists", "gone", "unknown"


@dataclass(frozen=True)
class Existence:
    """What the platform's answer says of a missing record: `EXISTS` (its
    assets stay), `GONE` (they are deleted) or `UNKNOWN` (they stay, asked
    again later), with the reason for the log."""

    kind: str
    reason: str = ""
