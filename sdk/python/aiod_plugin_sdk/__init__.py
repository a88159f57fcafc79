"""Write an aiod-host connector plugin in plain Python (componentize-py).

A plugin does no I/O: it plans requests and maps the answers; the host
performs every request, keeps the cursor and uploads what the plugin maps.
Subclass `Connector` with this package's types, unit-test it with a stock
`python3`, and export it from the component's entry module with
`aiod_plugin_sdk.component.export` (the only module that needs the bindings
componentize-py generates).
"""

from .connector import Connector, Unsupported
from .helpers import (
    body,
    encode_component,
    encode_path,
    next_link,
    parse_instant,
    snippet,
    truncate_bytes,
)
from .types import *  # noqa: F401,F403 (the contract's types are the SDK's vocabulary)

