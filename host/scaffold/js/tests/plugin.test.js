// The plugin under Node.js, with no WebAssembly: `npm test`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { plugin } from "../src/app.js";

const ctx = { platform: "{{name}}" };
const ALL = { tag: "all" };
const fixture = new URL("../fixtures/example/", import.meta.url);

test("the first page points to the second; each record maps to the expected body", () => {
  const [first] = plugin.start(ctx, ALL);
  const body = new Uint8Array(readFileSync(new URL("page-1.json", fixture)));
  const page = plugin.handlePage(ctx, ALL, first, { status: 200, headers: [["link", '</api/records?page=2>; rel="next"']], body });
  assert.equal(page.next.target, "/api/records?page=2");
  const mapped = plugin.mapJudged(ctx, page.records[0], []);
  const expected = JSON.parse(readFileSync(new URL("expected.jsonl", fixture), "utf8").split("\n")[0]);
  assert.deepEqual(JSON.parse(mapped.mapped.assets[0].body), expected.body);
});

test("a record without an id is invalid, not a crash", () => {
  assert.throws(() => plugin.mapJudged(ctx, { id: "", label: "", version: "", data: "{}", followUps: [] }, []), (e) => e.tag === "invalid");
});
