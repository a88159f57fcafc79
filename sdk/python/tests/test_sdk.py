"""The Python SDK's helpers and types, under a stock python3."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from aiod_plugin_sdk import (  # noqa: E402
    Connector,
    Context,
    EXISTS,
    MissingRecord,
    Request,
    Response,
    Unsupported,
    UNKNOWN,
    body,
    encode_component,
    encode_path,
    next_link,
    parse_instant,
    snippet,
    truncate_bytes,
)


class Helpers(unittest.TestCase):
    def test_next_link_picks_rel_next(self):
        link = lambda v: [("Link", v)]  # noqa: E731
        self.assertEqual(
            next_link(link('<https://x/a?cursor=abc>; rel="next"')), "https://x/a?cursor=abc"
        )
        self.assertEqual(next_link(link('<https://x/p>; rel="prev", <https://x/n>; rel=next')), "https://x/n")
        self.assertEqual(next_link(link('<https://x/n>; rel="last next"')), "https://x/n")
        self.assertIsNone(next_link(link('<https://x/p>; rel="prev"')))
        self.assertIsNone(next_link(link("https://x/n; rel=next")))
        self.assertIsNone(next_link([]))

    def test_encoding_keeps_slashes_only_in_paths(self):
        self.assertEqual(encode_path("a b/c?d"), "a%20b/c%3Fd")
        self.assertEqual(encode_component("a b/c?d&e=é"), "a%20b%2Fc%3Fd%26e%3D%C3%A9")

    def test_snippets_and_truncation(self):
        self.assertEqual(snippet(b"  Internal Server Error.\n"), "Internal Server Error.")
        self.assertEqual(snippet(b"\xffa"), "\ufffda")
        long = snippet("é" * 300)
        self.assertEqual(len(long), 201)
        self.assertTrue(long.endswith("…"))
        cut = truncate_bytes("ééééé", 9, "…")
        self.assertEqual(cut, "ééé…")
        self.assertLessEqual(len(cut.encode()), 9)
        self.assertEqual(truncate_bytes("short", 10), "short")
        self.assertEqual(truncate_bytes("abcdef", 2, "[...]"), "ab")

    def test_instants_compare_across_offsets(self):
        utc = parse_instant("2024-01-01T00:00:00Z")
        self.assertEqual(utc, parse_instant("2024-01-01T01:00:00+01:00"))
        self.assertLess(parse_instant("2023-12-31T23:59:59.999Z"), utc)
        for bad in ["", "2024-01-01", "2024-13-01T00:00:00Z", "2024-01-01T00:00:00", None]:
            self.assertIsNone(parse_instant(bad), bad)

    def test_bodies_leave_out_nulls_and_keep_order(self):
        self.assertEqual(
            body({"platform": "zenodo", "name": "A", "license": None, "keyword": []}),
            '{"platform": "zenodo", "name": "A", "keyword": []}',
        )


class Types(unittest.TestCase):
    def test_requests_are_built_and_headers_read_in_any_case(self):
        r = Request.get("hub", "/api").with_query("limit", "1").json()
        self.assertEqual(r.query, [("limit", "1")])
        self.assertEqual(r.headers, [("accept", "application/json")])
        self.assertEqual(Response(200, [("X-Error-Code", " Nope ")], b"").header("x-error-code"), "Nope")

    def test_a_connector_has_defaults_for_what_the_contract_allows(self):
        c, ctx = Connector(), Context("p")
        self.assertEqual((c.probes(ctx), c.answer_rules(ctx)), ([], []))
        with self.assertRaises(Unsupported):
            c.lookup_request(ctx, MissingRecord("1", "x", True))
        found = c.read_lookup(ctx, MissingRecord("1", "x", True), Response(200, [], b""))
        self.assertEqual(found.kind, UNKNOWN)
        self.assertNotEqual(found.kind, EXISTS)


if __name__ == "__main__":
    unittest.main()
