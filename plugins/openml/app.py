"""The OpenML plugin's component entry: `OpenML` exported by the SDK
(`openml_connector/plugin.py` holds the plugin itself)."""

from aiod_plugin_sdk.component import export
from openml_connector.plugin import OpenML

Types, Plugin = export(OpenML())
