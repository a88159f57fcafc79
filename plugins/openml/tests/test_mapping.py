"""OpenML dataset -> AIoD `Dataset` body, with recorded responses."""

import json
import unittest

from fixtures import entry_text, list_entries, load, ok, raw, schema_errors

from openml_connector.mapping import (
    MAX_DESCRIPTION_CHARS,
    InvalidRecord,
    Reply,
    SkipRecord,
    map_dataset,
)

ENTRIES = {str(e["did"]): e for e in list_entries()}


def mapped(did, description=None, qualities=None, platform="openml", entry=None):
    """Maps recorded dataset `did`; the replies default to the recorded ones."""
    entry = entry if entry is not None else ENTRIES[did]
    out = map_dataset(
        platform,
        entry_text(entry),
        description if description is not None else ok(f"data-{did}.json"),
        qualities if qualities is not None else ok(f"data-qualities-{did}.json"),
    )
    return out, json.loads(out.body)


def with_description(did, **changes):
    """The recorded description of `did` with fields changed (None removes one)."""
    doc = load(f"data-{did}.json")
    for key, value in changes.items():
        if value is None:
            doc["data_set_description"].pop(key, None)
        else:
            doc["data_set_description"][key] = value
    return Reply(200, json.dumps(doc).encode())


class RecordedDatasets(unittest.TestCase):
    def test_maps_every_field(self):
        out, body = mapped("2")
        self.assertEqual(out.platform_resource_identifier, "2")
        self.assertEqual(out.warnings, [])
        description = load("data-2.json")["data_set_description"]["description"]
        self.assertEqual(
            body,
            {
                "platform": "openml",
                "platform_resource_identifier": "2",
                "name": "anneal",
                "same_as": "https://www.openml.org/api/v1/json/data/2",
                "description": {"plain": description[:1794] + " [...]"},
                "date_published": "2014-04-06T23:19:24",
                "license": "Public",
                "version": "1",
                "is_accessible_for_free": True,
                "keyword": [
                    "study_1", "study_14", "study_34", "study_37", "study_41",
                    "study_70", "study_76", "test", "uci",
                ],
                "distribution": [
                    {
                        "content_url": "https://api.openml.org/data/v1/download/1666876/anneal.arff",
                        "encoding_format": "ARFF",
                        "checksum": "4eaed8b6ec9d8211024b6c089b064761",
                        "checksum_algorithm": "md5",
                    }
                ],
                "size": {"value": 898, "unit": "instances"},
            },
        )

    def test_every_recorded_dataset_is_valid_for_aiod(self):
        for did, name, instances in [("2", "anneal", 898), ("3", "kr-vs-kp", 3196), ("4", "labor", 57)]:
            out, body = mapped(did, platform="openml_test")
            self.assertEqual(schema_errors(body), [], did)
            self.assertEqual(out.warnings, [], did)
            self.assertEqual((body["name"], body["platform"]), (name, "openml_test"))
            self.assertEqual(body["size"]["value"], instances)
            self.assertEqual(len(body["description"]["plain"]), MAX_DESCRIPTION_CHARS)
            self.assertTrue(body["description"]["plain"].endswith(" [...]"))
            # The AIoD test's expectation: no citation.
            self.assertNotIn("citation", body)

    def test_null_qualities_do_not_break_the_size(self):
        # kr-vs-kp has `"value": []` for its numeric-attribute qualities.
        self.assertEqual(mapped("3")[1]["size"], {"value": 3196, "unit": "instances"})


class KnownBugsFixed(unittest.TestCase):
    def test_a_single_tag_is_one_keyword(self):
        # Titanic: OpenML sends one tag as a plain string, not a list.
        reply = ok("sklearn-data-40945.json")
        entry = {"did": 40945, "name": "Titanic"}
        out, body = mapped("40945", reply, Reply(412, raw("data-qualities-1-412-dataset-processed-with-error.json")), entry=entry)
        self.assertEqual(body["keyword"], ["text_data"])
        self.assertEqual(schema_errors(body), [])

    def test_missing_tags_give_no_keywords(self):
        body = mapped("4", with_description("4", tag=None))[1]
        self.assertEqual(body["keyword"], [])

    def test_an_empty_description_is_left_out_not_null(self):
        entry = {"did": 130, "name": "iris"}
        out, body = mapped("130", ok("test-server-data-130.json"), Reply(0, b"timed out"), entry=entry)
        self.assertNotIn("description", body)
        self.assertEqual(schema_errors(body), [])
        self.assertFalse(any(v is None for v in body.values()))

    def test_a_description_of_another_type_costs_only_the_description(self):
        out, body = mapped("4", with_description("4", description={"text": "x"}))
        self.assertNotIn("description", body)
        self.assertEqual(out.warnings, ["description of dataset 4 is a dict, not text; left out"])

    def test_failed_qualities_fall_back_to_the_list_entry(self):
        failure = Reply(412, raw("data-qualities-1-412-dataset-processed-with-error.json"))
        out, body = mapped("2", qualities=failure)
        self.assertEqual(body["size"], {"value": 898, "unit": "instances"})
        self.assertEqual(
            out.warnings,
            ["qualities of dataset 2 unavailable: HTTP 412, OpenML error 364: "
             "Dataset processed with error (Read timed out)"],
        )

    def test_no_instances_anywhere_means_no_size(self):
        entry = dict(ENTRIES["2"], quality=[])
        out, body = mapped("2", qualities=Reply(0, b"connection refused"), entry=entry)
        self.assertNotIn("size", body)
        self.assertEqual(out.warnings, ["qualities of dataset 2 unavailable: request failed: connection refused"])

    def test_a_fractional_size_is_left_out_with_a_warning(self):
        qualities = Reply(200, b'{"data_qualities":{"quality":{"name":"NumberOfInstances","value":"12.5"}}}')
        out, body = mapped("2", qualities=qualities)
        self.assertNotIn("size", body)
        self.assertIn("not a whole number", out.warnings[0])


class Variations(unittest.TestCase):
    def test_dates_with_a_space_become_iso(self):
        body = mapped("2", ok("docs-data-id-200.json"), entry={"did": 1, "name": "anneal"})[1]
        self.assertEqual(body["date_published"], "2014-04-06T23:19:20")
        out, body = mapped("2", with_description("2", upload_date="last week"))
        self.assertNotIn("date_published", body)
        self.assertEqual(out.warnings, ["cannot read upload_date of dataset 2: 'last week'; left out"])

    def test_licence_and_format_are_passed_on_as_given(self):
        body = mapped("2", with_description("2", licence="CC BY-NC-SA 4.0", format="arff"))[1]
        self.assertEqual(body["license"], "CC BY-NC-SA 4.0")
        self.assertEqual(body["distribution"][0]["encoding_format"], "arff")
        body = mapped("2", with_description("2", licence=None))[1]
        self.assertNotIn("license", body)

    def test_lists_of_creators_do_not_matter(self):
        entry = {"did": 42585, "name": "penguins"}
        out, body = mapped("42585", ok("sklearn-data-42585.json"), Reply(404, b""), entry=entry)
        self.assertEqual(body["license"], "CC0")
        self.assertEqual(body["keyword"], [])
        self.assertEqual(schema_errors(body), [])

    def test_no_url_means_no_distribution(self):
        out, body = mapped("2", with_description("2", url=None, md5_checksum=None))
        self.assertEqual(body["distribution"], [])
        self.assertEqual(out.warnings, ["dataset 2 has no download url; no distribution"])

    def test_short_descriptions_are_kept_whole(self):
        text = "é" * MAX_DESCRIPTION_CHARS
        body = mapped("2", with_description("2", description=text))[1]
        self.assertEqual(body["description"]["plain"], text)
        body = mapped("2", with_description("2", description=text + "!"))[1]
        self.assertEqual(len(body["description"]["plain"]), MAX_DESCRIPTION_CHARS)


class Refusals(unittest.TestCase):
    def test_deactivated_datasets_are_skipped(self):
        for name, did in [("sklearn-data-292.json", 292), ("sklearn-data-1.json", 1)]:
            with self.assertRaises(SkipRecord) as e:
                mapped(str(did), ok(name), Reply(404, b""), entry={"did": did, "name": "x"})
            self.assertEqual(str(e.exception), f"dataset {did} is deactivated on OpenML")

    def test_a_failed_description_makes_the_record_invalid(self):
        with self.assertRaises(InvalidRecord) as e:
            mapped("2", Reply(412, raw("data-1000000-412-unknown-dataset.json")))
        self.assertEqual(
            str(e.exception),
            "description of dataset 2 unavailable: HTTP 412, OpenML error 111: Unknown dataset",
        )
        with self.assertRaises(InvalidRecord):
            mapped("2", Reply(200, b"<html>oops</html>"))
        with self.assertRaises(InvalidRecord) as e:
            map_dataset("openml", entry_text(ENTRIES["2"]), None, None)
        self.assertEqual(str(e.exception), "no description of dataset 2 was fetched")

    def test_malformed_entries_are_invalid(self):
        for data in ["[]", "not json", '{"name": "x"}', '{"did": "abc"}']:
            with self.assertRaises(InvalidRecord, msg=data):
                map_dataset("openml", data, ok("data-2.json"), None)

    def test_a_description_of_another_dataset_is_invalid(self):
        with self.assertRaises(InvalidRecord) as e:
            mapped("3", ok("data-2.json"))
        self.assertIn("is of dataset '2'", str(e.exception))


if __name__ == "__main__":
    unittest.main()
