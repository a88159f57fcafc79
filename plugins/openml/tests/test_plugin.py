"""The plugin as the host calls it (`OpenML`, an SDK `Connector`), with recorded responses."""

import json
import unittest

from fixtures import raw

from aiod_plugin_sdk import (
    ALL,
    GONE,
    ID,
    SINCE,
    Context,
    FollowUp,
    MissingRecord,
    Mode,
    Request,
    Response,
    Skip,
    Unsupported,
)
from openml_connector.plugin import OpenML

CTX = Context("openml")
PLUGIN = OpenML()


def answer(name, status=200):
    return Response(status, [("content-type", "application/json")], raw(name))


class AsTheHostCallsIt(unittest.TestCase):
    def test_it_declares_its_one_endpoint(self):
        info = PLUGIN.info()
        self.assertEqual((info.name, info.platform), ("openml", "openml"))
        self.assertEqual([e.env_override for e in info.endpoints], ["OPENML_ENDPOINT"])

    def test_since_is_refused_with_its_reason(self):
        with self.assertRaises(Unsupported) as refused:
            PLUGIN.start(CTX, Mode(SINCE, "2024-01-01T00:00:00Z"))
        self.assertIn("no modification filter", str(refused.exception))
        self.assertEqual(len(PLUGIN.start(CTX, Mode(ALL))), 1)

    def test_a_listed_dataset_maps_from_its_follow_ups(self):
        first = PLUGIN.start(CTX, Mode(ALL))[0]
        self.assertIn(("accept", "application/json"), first.headers)
        page = PLUGIN.handle_page(
            CTX,
            Mode(ALL),
            Request.get("openml", "/api/v1/json/data/list/limit/2/offset/0"),
            answer("data-list-limit-2-offset-0.json"),
        )
        record = page.records[0]
        follow_ups = [
            FollowUp(r, answer(f"data-{'qualities-' if 'qualities' in r.target else ''}{record.id}.json"))
            for r in record.follow_ups
        ]
        mapped = PLUGIN.map(CTX, record, follow_ups)
        body = json.loads(mapped.assets[0].body)
        self.assertEqual(
            (mapped.assets[0].asset_type, body["platform"], body["platform_resource_identifier"]),
            ("datasets", "openml", record.id),
        )
        self.assertIsNone(mapped.again)

    def test_a_deactivated_dataset_is_skipped_with_the_sdks_skip(self):
        desc = json.loads(raw("data-2.json"))
        desc["data_set_description"]["status"] = "deactivated"
        record = PLUGIN.handle_page(
            CTX, Mode(ID, "2"), Request.get("openml", "/x"), answer("data-list-limit-2-offset-0.json")
        ).records[0]
        follow_ups = [
            FollowUp(record.follow_ups[0], Response(200, [], json.dumps(desc).encode())),
            FollowUp(record.follow_ups[1], answer("data-qualities-2.json")),
        ]
        with self.assertRaises(Skip):
            PLUGIN.map(CTX, record, follow_ups)

    def test_lookups_by_id_only(self):
        with self.assertRaises(Unsupported):
            PLUGIN.lookup_request(CTX, MissingRecord("#3", "x", True))
        missing = MissingRecord("1000000", "gone", True)
        self.assertTrue(PLUGIN.lookup_request(CTX, missing).target.endswith("/data/1000000"))
        found = PLUGIN.read_lookup(CTX, missing, answer("data-1000000-412-unknown-dataset.json", 412))
        self.assertEqual(found.kind, GONE)


if __name__ == "__main__":
    unittest.main()
