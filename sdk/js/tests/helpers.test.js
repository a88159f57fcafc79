// The SDK's helpers and its edge: what a plugin author relies on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Connector, Invalid, Skip, Unsupported, body, encodeComponent, encodePath, exportConnector, nextLink, snippet, truncate } from "../aiod-plugin-sdk.js";

test("nextLink finds rel=next among several links and relations", () => {
  assert.equal(nextLink([["Link", '<https://x/a?p=1>; rel="prev", <https://x/a?p=3>; rel="last next"']]), "https://x/a?p=3");
  assert.equal(nextLink([["link", "<https://x/a>; rel=prev"]]), undefined);
  assert.equal(nextLink([]), undefined);
});

test("encoding keeps unreserved characters only; paths keep their slashes", () => {
  assert.equal(encodeComponent("a b/c?d&e(f)!"), "a%20b%2Fc%3Fd%26e%28f%29%21");
  assert.equal(encodePath("org/name x"), "org/name%20x");
});

test("truncate counts characters, never splits a surrogate pair, and marks the cut", () => {
  assert.equal(truncate("abc", 3), "abc");
  assert.equal(truncate("😀😀😀😀😀😀😀😀", 7), "😀 [...]");
  assert.equal(truncate("abcdef", 3), "abc", "a mark longer than the room is left out");
  assert.equal(snippet(new TextEncoder().encode("  hi  ")), "hi");
});

test("body leaves out undefined, null and empty lists, in the order given", () => {
  assert.equal(body({ name: "n", a: undefined, b: null, c: [], d: [1], e: 0 }), '{"name":"n","d":[1],"e":0}');
});

class Fails extends Connector {
  info() {
    return { name: "t" };
  }
  start() {
    throw new Unsupported("no such mode");
  }
  handlePage() {
    throw new TypeError("oops");
  }
  map(_ctx, record) {
    if (record.id === "skip") throw new Skip("not wanted");
    if (record.id === "invalid") throw new Invalid("broken");
    if (record.id === "bug") return undefined.x;
    return { assets: [], again: "later" };
  }
}

test("the edge turns refusals, skips and bugs into the contract's errors, never a trap", () => {
  const { plugin, types } = exportConnector(new Fails());
  assert.deepEqual(types, {});
  assert.throws(() => plugin.start({}, { tag: "all" }), (e) => e === "no such mode");
  assert.throws(() => plugin.handlePage({}, { tag: "all" }, {}, { status: 200, headers: [], body: new Uint8Array() }), (e) => e === "plugin failed: TypeError: oops");
  assert.throws(() => plugin.mapJudged({}, { id: "skip" }, []), (e) => e.tag === "skip" && e.val === "not wanted");
  assert.throws(() => plugin.mapRecord({}, { id: "invalid" }, []), (e) => e.tag === "invalid" && e.val === "broken");
  assert.throws(() => plugin.mapJudged({}, { id: "bug" }, []), (e) => e.tag === "invalid" && e.val.startsWith("plugin failed: TypeError"));
  assert.deepEqual(plugin.mapJudged({}, { id: "ok" }, []), { mapped: { assets: [], warnings: [] }, again: "later" });
  assert.deepEqual(plugin.probes({}), []);
  assert.deepEqual(plugin.answerRules({}), []);
  assert.throws(() => plugin.lookupRequest({}, { id: "x" }), (e) => e === "this plugin does not look records up");
  assert.equal(plugin.readLookup({}, { id: "x" }, { status: 200, headers: [], body: new Uint8Array() }).tag, "unknown");
});
