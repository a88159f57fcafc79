// Listing over OAI-PMH and looking records up: the requests planned and how
// answers (errors included, as Zenodo sends them: HTTP 422) are read.
import { test } from "node:test";
import assert from "node:assert/strict";
import { plugin } from "../src/app.js";
import { parse } from "../src/xml.js";

const ctx = { platform: "zenodo" };
const enc = (s) => new TextEncoder().encode(s);
const oai = (inner) => `<?xml version='1.0' encoding='UTF-8'?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-01-01T00:00:00Z</responseDate>${inner}</OAI-PMH>`;
const error = (code, status = 422) => ({ status, headers: [], body: enc(oai(`<error code="${code}">message of ${code}</error>`)) });
const header = (n, deleted) => `<header${deleted ? ' status="deleted"' : ""}><identifier>oai:zenodo.org:${n}</identifier><datestamp>2024-02-03T04:05:06Z</datestamp></header>`;

test("since asks for records from that second on; id asks for one record; all for every record", () => {
  assert.deepEqual(plugin.start(ctx, { tag: "since", val: "2024-01-01T00:00:00.250Z" })[0].query, [
    ["verb", "ListRecords"],
    ["metadataPrefix", "oai_datacite"],
    ["from", "2024-01-01T00:00:00Z"],
  ]);
  for (const val of ["7947283", "zenodo.org:7947283"]) {
    assert.deepEqual(plugin.start(ctx, { tag: "id", val })[0].query, [
      ["verb", "GetRecord"],
      ["metadataPrefix", "oai_datacite"],
      ["identifier", "oai:zenodo.org:7947283"],
    ]);
  }
  assert.throws(() => plugin.start(ctx, { tag: "id", val: "../x" }), (e) => typeof e === "string" && e.includes("is not a Zenodo record id"));
});

test("noRecordsMatch is an empty listing; an expired token and other errors stop it with their message", () => {
  const [first] = plugin.start(ctx, { tag: "all" });
  for (const status of [200, 422]) {
    assert.deepEqual(plugin.handlePage(ctx, { tag: "all" }, first, error("noRecordsMatch", status)), { records: [], next: undefined });
  }
  assert.throws(() => plugin.handlePage(ctx, { tag: "all" }, first, error("badResumptionToken")), (e) => e.startsWith("Zenodo refused the listing's resumption token"));
  assert.throws(() => plugin.handlePage(ctx, { tag: "all" }, first, error("badArgument")), (e) => e.includes("error badArgument: message of badArgument"));
  assert.throws(() => plugin.handlePage(ctx, { tag: "id", val: "1" }, first, error("idDoesNotExist")), (e) => e === "Zenodo has no record 1");
  assert.throws(() => plugin.handlePage(ctx, { tag: "all" }, first, { status: 504, headers: [], body: enc("<h1>504 Gateway Time-out</h1>") }), (e) => e.includes("HTTP 504: <h1>504 Gateway Time-out</h1>"));
});

test("an answer that is not XML, or cut short, is a clear error, not a trap", () => {
  const [first] = plugin.start(ctx, { tag: "all" });
  for (const [body, why] of [
    ["{}", "not XML"],
    [oai("<ListRecords><record>"), "does not close <record>"],
    [oai("<ListRecords><record>").slice(0, -"</OAI-PMH>".length), "is not closed (the answer ends early)"],
    ["<!DOCTYPE x [<!ENTITY a 'b'>]><OAI-PMH/>", "DOCTYPE"],
    ["<a>&unknown;</a>", "unknown entity"],
    ["<a>" + "<b>".repeat(1000), "nested deeper"],
  ]) {
    assert.throws(() => plugin.handlePage(ctx, { tag: "all" }, first, { status: 200, headers: [], body: enc(body) }), (e) => typeof e === "string" && e.includes(why), body.slice(0, 30));
  }
});

test("a deleted record is listed with no follow-up; the last page has an empty token", () => {
  const [first] = plugin.start(ctx, { tag: "all" });
  const page = plugin.handlePage(ctx, { tag: "all" }, first, { status: 200, headers: [], body: enc(oai(`<ListRecords><record>${header(5, true)}</record><resumptionToken completeListSize="1" cursor="0"></resumptionToken></ListRecords>`)) });
  assert.equal(page.next, undefined);
  assert.equal(page.records[0].id, "zenodo.org:5");
  assert.equal(page.records[0].version, "2024-02-03T04:05:06Z");
  assert.deepEqual(page.records[0].followUps, []);
  assert.equal(JSON.parse(page.records[0].data).deleted, true);
});

test("a lookup says gone for a deleted or unknown record, exists for a record, unknown otherwise", () => {
  const missing = { id: "zenodo.org:5", label: "x", listed: true };
  assert.deepEqual(plugin.lookupRequest(ctx, missing).query[2], ["identifier", "oai:zenodo.org:5"]);
  assert.throws(() => plugin.lookupRequest(ctx, { ...missing, id: "some-other-platform:5" }), (e) => e.includes("cannot be looked up"));
  const answer = (inner) => ({ status: 200, headers: [], body: enc(oai(`<GetRecord><record>${inner}</record></GetRecord>`)) });
  assert.deepEqual(plugin.readLookup(ctx, missing, answer(header(5, true))), { tag: "gone", val: "deleted on Zenodo" });
  assert.deepEqual(plugin.readLookup(ctx, missing, answer(header(5) + "<metadata/>")), { tag: "exists" });
  assert.equal(plugin.readLookup(ctx, missing, error("idDoesNotExist")).tag, "gone");
  assert.equal(plugin.readLookup(ctx, missing, error("badArgument")).tag, "unknown");
  assert.equal(plugin.readLookup(ctx, missing, { status: 503, headers: [], body: enc("busy") }).tag, "unknown");
  assert.equal(plugin.readLookup(ctx, missing, { status: 0, headers: [], body: enc("timed out") }).tag, "unknown");
});

test("the XML reader decodes entities and CDATA and names elements without their prefix", () => {
  const root = parse(`<?xml version="1.0"?><!-- c --><x:a xmlns:x="u" k='v&amp;w'>1 &lt; 2 &#x263A; <![CDATA[<raw>]]><x:b/></x:a>`);
  assert.equal(root.name, "a");
  assert.deepEqual(root.attrs, { x: "u", k: "v&w" });
  assert.deepEqual(root.children.slice(0, 2), ["1 < 2 ☺ ", "<raw>"]);
  assert.equal(root.children[2].name, "b");
});
