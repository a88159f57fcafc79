"""Asking OpenML whether a dataset missing from a complete pass still exists."""

import json
import unittest

from fixtures import load

from openml_connector.lookup import EXISTS, GONE, UNKNOWN, read, request_target


def body(value):
    return json.dumps(value).encode()


class LookupTest(unittest.TestCase):
    def test_the_lookup_is_the_description(self):
        self.assertEqual(request_target("61"), "/api/v1/json/data/61")
        self.assertIsNone(request_target("#3"))
        self.assertIsNone(request_target("61 "))

    def test_an_active_dataset_exists(self):
        self.assertEqual(read("2", 200, body(load("data-2.json"))).kind, EXISTS)

    def test_unknown_or_deactivated_is_gone(self):
        unknown = body({"error": {"code": "111", "message": "Unknown dataset"}})
        self.assertEqual(read("9", 412, unknown).kind, GONE)
        doc = load("data-2.json")
        doc["data_set_description"]["status"] = "deactivated"
        gone = read("2", 200, body(doc))
        self.assertEqual(gone.kind, GONE)
        self.assertIn("deactivated", gone.reason)

    def test_anything_else_tells_nothing(self):
        busy = body({"error": {"code": "107", "message": "Database connection error"}})
        self.assertEqual(read("2", 412, busy).kind, UNKNOWN)
        self.assertEqual(read("2", 0, b"connection refused").kind, UNKNOWN)
        self.assertEqual(read("2", 503, b"<html>").kind, UNKNOWN)
        self.assertEqual(read("3", 200, body(load("data-2.json"))).kind, UNKNOWN)


if __name__ == "__main__":
    unittest.main()
