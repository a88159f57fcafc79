"""The OpenML plugin's logic, in plain Python over JSON text.

`listing` plans the OpenML requests and reads listing responses; `mapping` turns
one dataset into an AIoD `Dataset` body. Neither does any I/O and neither knows
the WIT bindings: `app.py` adapts them to the `aiod:connector` contract, so the
same code runs under the unit tests with a stock `python3`.
"""

VERSION = "0.1.0"
