"""The component's entry: the plugin, exported by the SDK."""

from aiod_plugin_sdk.component import export
from {{module}}.plugin import Records

Types, Plugin = export(Records())
