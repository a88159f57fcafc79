// Lists {{name}}'s records and maps each to an AIoD dataset body. It does no
// I/O: it plans requests and maps the answers; the host performs every request.

import { ALL, ID, Connector, Invalid, Unsupported, asset, encodeComponent, nextLink, request, snippet } from "../sdk/aiod-plugin-sdk.js";

export const VERSION = "0.1.0";
// The endpoint's name; the host resolves it to a base URL.
const API = "api";
const JSON_ONLY = { headers: [["accept", "application/json"]] };

export class Records extends Connector {
  info() {
    return {
      name: "{{name}}",
      version: VERSION,
      platform: "{{name}}",
      endpoints: [
        {
          name: API,
          defaultBaseUrl: "https://example.org",
          envOverride: "{{ENV}}",
          description: "{{name}} API (records)",
          budget: undefined,
          tokenEnv: [],
        },
      ],
      assetTypes: ["datasets"],
    };
  }

  start(_ctx, mode) {
    if (mode.kind === ALL) return [request(API, "/api/records", JSON_ONLY)];
    if (mode.kind === ID) return [request(API, "/api/records/" + encodeComponent(mode.value), JSON_ONLY)];
    throw new Unsupported("{{name}} cannot list records modified since a date");
  }

  handlePage(_ctx, mode, _request, response) {
    if (response.status < 200 || response.status >= 300) {
      throw new Unsupported(`the listing failed: HTTP ${response.status}: ${snippet(response.body)}`);
    }
    let items;
    try {
      items = JSON.parse(response.text());
    } catch (e) {
      throw new Unsupported(`the listing is not JSON: ${e.message}`);
    }
    if (mode.kind === ID && items !== null && !Array.isArray(items) && typeof items === "object") items = [items];
    if (!Array.isArray(items)) throw new Unsupported(`expected a list of records, got ${snippet(response.body)}`);
    const records = items
      .filter((item) => item !== null && typeof item === "object")
      .map((item) => ({
        id: String(item.id ?? ""),
        label: String(item.title ?? ""),
        // Changes whenever the record does: unchanged records cost nothing.
        version: String(item.modified ?? ""),
        data: JSON.stringify(item),
        followUps: [],
      }));
    const link = nextLink(response.headers);
    return { records, next: link === undefined ? undefined : request(API, link, JSON_ONLY) };
  }

  map(ctx, record, _followUps) {
    let item;
    try {
      item = JSON.parse(record.data);
    } catch (e) {
      throw new Invalid(`not a record: ${e.message}`);
    }
    const id = item.id;
    if (!id) throw new Invalid("the record has no id");
    const fields = {
      platform: ctx.platform,
      platform_resource_identifier: id,
      name: item.title ?? "",
      same_as: `https://example.org/records/${id}`,
      description: item.description ? { plain: item.description } : undefined,
      date_published: item.created,
      license: item.license,
      keyword: Array.isArray(item.keywords) ? item.keywords.filter((k) => typeof k === "string") : undefined,
    };
    return { assets: [asset("datasets", id, fields)] };
  }
}
