// Writes fixtures/recorded/expected.jsonl: what the plugin maps from the
// fixture's answers, run under Node.js (not as a component). `aiod-host plugin
// test` then checks that the component maps the same; the values themselves
// are checked by mapping.test.js. Run: node tests/make_expected.js
import { readFileSync, writeFileSync } from "node:fs";
import { plugin } from "../src/app.js";

const dir = new URL("../fixtures/recorded/", import.meta.url);
const fixture = JSON.parse(readFileSync(new URL("fixture.json", dir)));
const answer = (request) => {
  const path = request.target.split("?")[0];
  const query = Object.fromEntries(request.query);
  const found = fixture.responses.find(
    (r) => r.endpoint === request.endpoint && r.path === path && Object.entries(r.query ?? {}).every(([k, v]) => query[k] === v),
  );
  return { status: found.status ?? 200, headers: Object.entries(found.headers ?? {}), body: new Uint8Array(readFileSync(new URL(found.body_file, dir))) };
};
const ctx = { platform: "zenodo" };
const lines = [];
let queue = plugin.start(ctx, { tag: "all" });
while (queue.length > 0) {
  const request = queue.shift();
  const page = plugin.handlePage(ctx, { tag: "all" }, request, answer(request));
  for (const record of page.records) {
    const followUps = record.followUps.map((r) => ({ request: r, response: answer(r) }));
    try {
      for (const a of plugin.mapJudged(ctx, record, followUps).mapped.assets) {
        lines.push(JSON.stringify({ asset_type: a.assetType, platform_resource_identifier: a.platformResourceIdentifier, body: JSON.parse(a.body) }));
      }
    } catch (e) {
      if (e.tag !== "skip") throw e;
    }
  }
  if (page.next) queue.push(page.next);
}
writeFileSync(new URL("expected.jsonl", dir), lines.join("\n") + "\n");
console.log(`${lines.length} assets`);
