// The mapping, on the recorded answers of the AIoD Zenodo connector's tests:
// what that connector's tests assert, and the bugs of it that this plugin fixes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { plugin } from "../src/app.js";
import { dateTime } from "../src/mapping.js";

const recorded = new URL("../../../local-servers/data/zenodo/", import.meta.url);
const file = (name) => new Uint8Array(readFileSync(new URL(name, recorded)));
const ctx = { platform: "zenodo" };
const ALL = { tag: "all" };
const ok = (body) => ({ status: 200, headers: [], body });

function page(name) {
  const [first] = plugin.start(ctx, ALL);
  return plugin.handlePage(ctx, ALL, first, ok(file(name)));
}

/// Maps `record` with its recorded files; returns the body, or the error variant thrown.
function map(record, files = (n) => ok(file(`files-${n}.json`))) {
  const followUps = record.followUps.map((request) => ({ request, response: files(request.target.split("/")[3]) }));
  try {
    const judged = plugin.mapJudged(ctx, record, followUps);
    return { body: JSON.parse(judged.mapped.assets[0].body), warnings: judged.mapped.warnings, again: judged.again };
  } catch (e) {
    return { error: e };
  }
}

const records = [...page("list-records-page-1.xml").records, ...page("list-records-page-2.xml").records];
const byId = (id) => records.find((r) => r.id === id);

test("51 records in two pages, of which 6 datasets: the others are skipped and cost no request", () => {
  assert.equal(records.length, 51);
  const first = page("list-records-page-1.xml");
  assert.deepEqual(first.next.query, [["verb", "ListRecords"], ["resumptionToken", ".resumption-token-to-page-2"]]);
  assert.equal(page("list-records-page-2.xml").next, undefined);
  const mapped = records.map((r) => map(r));
  assert.equal(mapped.filter((m) => m.body).length, 6);
  const skipped = mapped.filter((m) => m.error?.tag === "skip");
  assert.equal(skipped.length, 45);
  assert.match(skipped[0].error.val, /^not a dataset \(its DataCite resourceTypeGeneral is "/);
  assert.equal(records.filter((r) => r.followUps.length > 0).length, 6);
});

test("7947283 as the AIoD connector's test asserts it, with its page as same_as", () => {
  const { body } = map(byId("zenodo.org:7947283"));
  assert.equal(body.platform, "zenodo");
  assert.equal(body.platform_resource_identifier, "zenodo.org:7947283");
  assert.equal(body.name, "kogalab21/all-alpha_design");
  assert.equal(body.date_published, "2023-05-18T00:00:00");
  assert.equal(body.license, "Other (Open)");
  assert.equal(body.keyword, undefined);
  assert.equal(body.same_as, "https://zenodo.org/records/7947283");
  assert.equal(body.publisher, undefined, "not a field of the AIoD dataset schema");
});

test("7902673's files as distributions, with their sizes", () => {
  const { body } = map(byId("zenodo.org:7902673"));
  assert.equal(body.distribution.length, 3);
  assert.deepEqual(body.distribution[0], {
    name: "FIELDS_CONFIDE_CHECLIST.docx",
    content_url: "https://zenodo.org/api/records/7902673/files/FIELDS_CONFIDE_CHECLIST.docx/content",
    encoding_format: "application/octet-stream",
    checksum_algorithm: "md5",
    checksum: "97f511d24f8867405a8f87afbc76939d",
    content_size_kb: body.distribution[0].content_size_kb,
  });
  assert.ok(body.distribution[0].content_size_kb > 0);
});

test("private (403) or deleted (410) files leave a dataset without distributions, with a warning", () => {
  for (const status of [403, 410]) {
    const m = map(byId("zenodo.org:7902673"), () => ({ status, headers: [], body: new Uint8Array() }));
    assert.equal(m.body.distribution, undefined);
    assert.match(m.warnings[0], new RegExp(`not public \\(HTTP ${status}\\)`));
    assert.equal(m.again, undefined);
  }
});

test("a files answer that is not JSON costs the distributions this pass, and asks again", () => {
  const m = map(byId("zenodo.org:7902673"), () => ok(new TextEncoder().encode("<html>busy</html>")));
  assert.equal(m.body.distribution, undefined);
  assert.equal(m.again, "the files answer was not JSON");
});

test("Issued dates of only a year or a month, ranges and impossible dates", () => {
  assert.equal(dateTime("2023"), "2023-01-01T00:00:00");
  assert.equal(dateTime("2023-05"), "2023-05-01T00:00:00");
  assert.equal(dateTime("2020-01-02/2021-03-04"), "2020-01-02T00:00:00");
  assert.equal(dateTime("2023-05-18T10:20:30Z"), "2023-05-18T10:20:30");
  assert.equal(dateTime("2023-02-30"), undefined);
  assert.equal(dateTime("May 2023"), undefined);
});

// Page 2 is an edited recording; the cases below are built from the first dataset.
function variant(edit) {
  const record = structuredClone(byId("zenodo.org:7947283"));
  const data = JSON.parse(record.data);
  edit(data.resource, data);
  record.data = JSON.stringify(data);
  return map(record);
}

test("a translated title beside the main one, a second abstract or none, a year-month date: mapped, not errors", () => {
  const m = variant((r) => {
    r.titles = [{ text: "Übersetzt", type: "TranslatedTitle" }, { text: "Main title" }];
    r.descriptions = [{ text: "Other text", type: "Other" }, { text: "First", type: "Abstract" }, { text: "Second", type: "Abstract" }];
    r.dates = [{ text: "2023-05", type: "Issued" }];
  });
  assert.equal(m.body.name, "Main title");
  assert.deepEqual(m.body.description, { plain: "First" });
  assert.equal(m.body.date_published, "2023-05-01T00:00:00");
  const bare = variant((r) => {
    r.descriptions = [];
    r.dates = [];
    r.publicationYear = "2021";
  });
  assert.equal(bare.body.description, undefined);
  assert.equal(bare.body.date_published, "2021-01-01T00:00:00");
});

test("HTML abstracts go to html; long names and descriptions are cut on characters", () => {
  const m = variant((r) => {
    r.titles = [{ text: "😀".repeat(300) }];
    r.descriptions = [{ text: "<p>Hello\n   world</p>\n\n<p>" + "x".repeat(70000) + "</p>", type: "Abstract" }];
  });
  assert.equal(Array.from(m.body.name).length, 256);
  assert.ok(m.body.name.endsWith(" [...]"));
  assert.ok(m.body.description.html.startsWith("<p>Hello world</p>\n\n<p>xxx"));
  assert.equal(Array.from(m.body.description.html).length, 65535);
});

test("access rights are not licenses; subjects split on semicolons", () => {
  const m = variant((r) => {
    r.rights = [{ text: "Open Access", uri: "info:eu-repo/semantics/openAccess" }, { text: "Creative Commons Attribution 4.0 International", uri: "https://creativecommons.org/licenses/by/4.0/legalcode" }];
    r.subjects = ["Nanoparticles; Silver;  Green synthesis", "Silver"];
  });
  assert.equal(m.body.license, "Creative Commons Attribution 4.0 International");
  assert.deepEqual(m.body.keyword, ["Nanoparticles", "Silver", "Green synthesis"]);
});

test("a deleted record is skipped, which withdraws what AIoD holds of it", () => {
  const m = variant((_r, data) => {
    data.deleted = true;
  });
  assert.deepEqual(m.error, { tag: "skip", val: "deleted on Zenodo" });
});

test("a record without a title is invalid; a record that is not JSON is invalid, not a trap", () => {
  assert.deepEqual(variant((r) => (r.titles = [])).error, { tag: "invalid", val: "the record has no title" });
  const broken = { ...byId("zenodo.org:7947283"), data: "{" };
  assert.equal(map(broken).error.tag, "invalid");
  assert.match(map(broken).error.val, /^not a record: /);
});
