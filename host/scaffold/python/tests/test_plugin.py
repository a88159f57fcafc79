"""The plugin on the example fixture's answers, with a stock python3."""

import json
import os
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from aiod_plugin_sdk import ALL, Context, Mode, Request, Response  # noqa: E402
from {{module}}.plugin import Records  # noqa: E402


class Example(unittest.TestCase):
    def test_the_first_page_maps_to_its_expected_asset(self):
        with open(os.path.join(ROOT, "fixtures", "example", "page-1.json"), "rb") as f:
            page_1 = f.read()
        plugin, ctx = Records(), Context("{{name}}")
        page = plugin.handle_page(
            ctx, Mode(ALL), Request.get("api", "/api/records"), Response(200, [], page_1)
        )
        mapped = plugin.map(ctx, page.records[0], [])
        with open(os.path.join(ROOT, "fixtures", "example", "expected.jsonl")) as f:
            expected = json.loads(f.readline())
        self.assertEqual(json.loads(mapped.assets[0].body), expected["body"])


if __name__ == "__main__":
    unittest.main()
