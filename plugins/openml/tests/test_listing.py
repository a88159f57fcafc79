"""Planning the OpenML listing and reading its pages, with recorded responses."""

import json
import unittest

from fixtures import raw

from openml_connector import listing
from openml_connector.api import Refused
from openml_connector.listing import ALL, ID, SINCE, planned

PAGE_0 = "/api/v1/json/data/list/limit/2/offset/0"
PAGE_2 = "/api/v1/json/data/list/limit/2/offset/2"


class Start(unittest.TestCase):
    def test_all_starts_at_offset_zero_with_the_connector_page_size(self):
        self.assertEqual(
            listing.start(ALL),
            [planned("/api/v1/json/data/list/limit/500/offset/0")],
        )

    def test_the_probe_lists_one_dataset(self):
        self.assertEqual(listing.probes(), [planned("/api/v1/json/data/list/limit/1")])

    def test_since_is_refused_with_the_reason(self):
        with self.assertRaises(Refused) as e:
            listing.start(SINCE, "2024-01-01T00:00:00Z")
        self.assertIn("no modification filter", str(e.exception))
        self.assertIn("--mode all", str(e.exception))

    def test_id_lists_the_one_dataset(self):
        self.assertEqual(listing.start(ID, "61"), [planned("/api/v1/json/data/list/data_id/61")])
        for bad in ["", "abc", "0", "-1", "1.0", "061", " 61", "６"]:
            with self.assertRaises(Refused, msg=bad):
                listing.start(ID, bad)


class HandlePage(unittest.TestCase):
    def test_a_full_page_asks_for_the_next(self):
        page = listing.handle_page(ALL, None, PAGE_0, 200, raw("data-list-limit-2-offset-0.json"))
        self.assertEqual([r.id for r in page.records], ["2", "3"])
        self.assertEqual([r.label for r in page.records], ["anneal", "kr-vs-kp"])
        self.assertEqual(page.next, planned(PAGE_2))
        anneal = page.records[0]
        # Always fetched again: OpenML has nothing that changes with every edit.
        self.assertEqual(anneal.version, "")
        self.assertEqual(json.loads(anneal.data)["did"], 2)
        self.assertEqual(
            anneal.follow_ups,
            [planned("/api/v1/json/data/2"), planned("/api/v1/json/data/qualities/2")],
        )

    def test_a_short_page_is_the_last(self):
        page = listing.handle_page(ALL, None, PAGE_2, 200, raw("data-list-limit-2-offset-2.json"))
        self.assertEqual([r.id for r in page.records], ["4"])
        self.assertIsNone(page.next)

    def test_no_results_after_a_full_page_ends_the_listing(self):
        for status in (412, 200):
            body = raw("data-list-limit-2-offset-0-412-no-results.json")
            page = listing.handle_page(ALL, None, "/api/v1/json/data/list/limit/2/offset/4", status, body)
            self.assertEqual((page.records, page.next), ([], None))

    def test_other_errors_stop_the_listing_with_code_and_message(self):
        busy = b'{"error":{"code":"107","message":"Database connection error."}}'
        with self.assertRaises(Refused) as e:
            listing.handle_page(ALL, None, PAGE_0, 412, busy)
        self.assertEqual(
            str(e.exception),
            "dataset listing failed: HTTP 412, OpenML error 107: Database connection error.; "
            "OpenML is overloaded, try again later",
        )
        with self.assertRaises(Refused) as e:
            listing.handle_page(ALL, None, PAGE_0, 500, b"<html>Internal error</html>")
        self.assertEqual(str(e.exception), "dataset listing failed: HTTP 500: <html>Internal error</html>")
        for body in (b"<xml/>", b'{"data": 1}', b"[]"):
            with self.assertRaises(Refused, msg=body):
                listing.handle_page(ALL, None, PAGE_0, 200, body)

    def test_ids_may_be_strings_and_malformed_entries_are_kept_by_position(self):
        # The API documentation's example has string ids.
        page = listing.handle_page(ALL, None, PAGE_0, 200, raw("docs-data-list-200.json"))
        self.assertEqual([r.id for r in page.records], ["1"])
        body = json.dumps({"data": {"dataset": [{"did": 7, "name": "x"}, {"name": "no-id"}, 5]}})
        page = listing.handle_page(ALL, None, PAGE_0, 200, body.encode())
        self.assertEqual([r.id for r in page.records], ["7", "#1", "#2"])
        self.assertEqual(page.records[1].follow_ups, [])
        self.assertEqual(page.records[1].label, "no-id")
        # Malformed entries still count toward the page: it was full.
        self.assertIsNotNone(listing.handle_page(ALL, None, "/api/v1/json/data/list/limit/3/offset/0", 200, body.encode()).next)

    def test_id_mode_reads_the_filtered_list_and_explains_no_results(self):
        body = raw("data-list-limit-2-offset-2.json")
        page = listing.handle_page(ID, "4", "/api/v1/json/data/list/data_id/4", 200, body)
        self.assertEqual([r.id for r in page.records], ["4"])
        self.assertIsNone(page.next)
        with self.assertRaises(Refused) as e:
            listing.handle_page(
                ID, "5", "/api/v1/json/data/list/data_id/5", 412,
                raw("data-list-limit-2-offset-0-412-no-results.json"),
            )
        self.assertIn("no active dataset with id 5", str(e.exception))
        self.assertIn("OpenML error 372: No results", str(e.exception))


if __name__ == "__main__":
    unittest.main()
