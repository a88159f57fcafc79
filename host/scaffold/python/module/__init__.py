"""The {{name}} plugin for aiod-host, in plain Python (no WebAssembly needed to test it)."""

VERSION = "0.1.0"
