// The JavaScript guest SDK of aiod-host plugins, for componentize-js.
//
// A plugin is an object with the methods of `Connector` below (`info`, `start`,
// `handlePage`, `map`; the others have defaults). Its entry module exports it:
//
//     import { exportConnector } from "./aiod-plugin-sdk.js";
//     import { MyConnector } from "./plugin.js";
//     export const { types, plugin } = exportConnector(new MyConnector());
//
// componentize-js already speaks the contract's types as plain objects, so this
// module's edge (`exportConnector`) only supplies defaults, turns exceptions into
// the contract's errors and hands the plugin a friendlier mode and response. It
// does no I/O and needs none of WASI: build with every WASI feature disabled
// (`-d stdio random clocks http fetch-event`), and the component imports nothing.
//
// Shapes (as componentize-js passes them): a request is `{endpoint, target,
// query: [[k, v]], headers: [[k, v]]}`; a response `{status, headers: [[k, v]],
// body: Uint8Array}`; a source record `{id, label, version, data, followUps}`;
// a page `{records, next}` (`next` undefined at the end); mapped `{assets:
// [{assetType, platformResourceIdentifier, body}], warnings, again}`.

export const ALL = "all";
export const SINCE = "since";
export const ID = "id";

/// Answer verdicts (see `answer-rule` in the contract).
export const RETRY = "retry";
export const AGAIN_NEXT_PASS = "again-next-pass";
export const FINAL = "final";

/// A mode or request the plugin cannot serve; its message tells the operator why.
export class Unsupported extends Error {}

/// The record is deliberately not uploaded (the message is logged); AIoD's
/// assets of it from before are deleted.
export class Skip extends Error {}

/// The record is malformed; the host reports it and goes on.
export class Invalid extends Error {}

/// The methods a plugin implements; extend it to get the defaults.
export class Connector {
  /// Cheap requests showing each endpoint answers; by default none (the host
  /// probes with the first request of an `all` sync).
  probes(_ctx) {
    return [];
  }

  /// How final the answers of the plugin's endpoints are; by default none (the
  /// host's verdicts: retry 408, 429 and 5xx, the rest final).
  answerRules(_ctx) {
    return [];
  }

  /// The request asking whether a missing record still exists; by default it
  /// cannot be asked, and its assets stay.
  lookupRequest(_ctx, _record) {
    throw new Unsupported("this plugin does not look records up");
  }

  /// `{kind: "exists"}`, `{kind: "gone", reason}` or `{kind: "unknown", reason}`.
  readLookup(_ctx, _record, _response) {
    return { kind: "unknown", reason: "this plugin does not read lookups" };
  }
}

/// A GET request to a declared endpoint.
export function request(endpoint, target, { query = [], headers = [] } = {}) {
  return { endpoint, target, query, headers };
}

/// The first value of header `name` (any case), trimmed; undefined if absent.
export function header(headers, name) {
  const lower = name.toLowerCase();
  const found = headers.find(([n]) => n.toLowerCase() === lower);
  return found === undefined ? undefined : found[1].trim();
}

const utf8 = new TextDecoder("utf-8");

/// A body as text (UTF-8; invalid bytes become U+FFFD).
export function text(body) {
  return typeof body === "string" ? body : utf8.decode(body);
}

/// The `rel="next"` target of RFC 8288 `Link` headers, or undefined.
export function nextLink(headers) {
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== "link") continue;
    for (const link of value.split(",")) {
      const [rawTarget, ...params] = link.split(";");
      const target = rawTarget.trim();
      if (!target.startsWith("<") || !target.endsWith(">")) continue;
      for (const param of params) {
        const [key, val = ""] = param.split("=");
        const rels = val.trim().replace(/^"|"$/g, "").toLowerCase().split(/\s+/);
        if (key.trim().toLowerCase() === "rel" && rels.includes("next")) {
          return target.slice(1, -1);
        }
      }
    }
  }
  return undefined;
}

/// Percent-encodes one path segment or query component (RFC 3986 unreserved kept).
export function encodeComponent(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

/// Percent-encodes a path that may hold `/` separators.
export function encodePath(s) {
  return s.split("/").map(encodeComponent).join("/");
}

/// Cuts `s` to at most `max` characters (Unicode code points, as the AIoD schema
/// counts them), never inside a surrogate pair; `mark` ends a cut text (left
/// out when it does not fit).
export function truncate(s, max, mark = " [...]") {
  const chars = Array.from(s);
  if (chars.length <= max) return s;
  const end = Array.from(mark).length > max ? "" : mark;
  return chars.slice(0, max - Array.from(end).length).join("") + end;
}

/// The start of a body for a message: its first `limit` characters, trimmed.
export function snippet(body, limit = 200) {
  const t = text(body).trim();
  return Array.from(t).length <= limit ? t : truncate(t, limit, "…");
}

/// An AIoD body as JSON: the fields in the order given, those that are
/// undefined, null or an empty list left out (the AIoD schema declares no
/// nullable field).
export function body(fields) {
  const kept = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) continue;
    kept[k] = v;
  }
  return JSON.stringify(kept);
}

/// A plain asset.
export function asset(assetType, platformResourceIdentifier, fields) {
  return { assetType, platformResourceIdentifier, body: body(fields) };
}

// The contract's edge ---------------------------------------------------------

function message(e) {
  return e instanceof Error ? e.message : String(e);
}

/// A refusal or a plugin bug stops the listing with a message, never a trap.
function refusal(e) {
  return e instanceof Unsupported ? e.message : `plugin failed: ${e && e.name ? e.name : "error"}: ${message(e)}`;
}

function mode(m) {
  return m.tag === ALL ? { kind: ALL } : { kind: m.tag, value: m.val };
}

function response(r) {
  const body = r.body instanceof Uint8Array ? r.body : new Uint8Array(r.body);
  return { status: r.status, headers: r.headers, body, text: () => text(body) };
}

function followUps(list) {
  return list.map((f) => ({ request: f.request, response: response(f.response) }));
}

function existence(found) {
  if (found.kind === "exists") return { tag: "exists" };
  if (found.kind === "gone") return { tag: "gone", val: String(found.reason) };
  return { tag: "unknown", val: String(found.reason ?? "") };
}

/// The `types` and `plugin` exports for `connector`.
export function exportConnector(connector) {
  const map = (ctx, record, fus) => {
    try {
      const m = connector.map(ctx, record, followUps(fus));
      return { assets: m.assets, warnings: m.warnings ?? [], again: m.again ?? undefined };
    } catch (e) {
      if (e instanceof Skip) throw { tag: "skip", val: e.message };
      if (e instanceof Invalid) throw { tag: "invalid", val: e.message };
      // A bug costs this record only, never the sync.
      throw { tag: "invalid", val: refusal(e) };
    }
  };
  const refusing = (f) => {
    try {
      return f();
    } catch (e) {
      throw refusal(e);
    }
  };
  const plugin = {
    info: () => connector.info(),
    start: (ctx, m) => refusing(() => connector.start(ctx, mode(m))),
    handlePage: (ctx, m, req, resp) => refusing(() => connector.handlePage(ctx, mode(m), req, response(resp))),
    mapRecord: (ctx, record, fus) => {
      const { assets, warnings } = map(ctx, record, fus);
      return { assets, warnings };
    },
    mapJudged: (ctx, record, fus) => {
      const { assets, warnings, again } = map(ctx, record, fus);
      return { mapped: { assets, warnings }, again };
    },
    probes: (ctx) => connector.probes(ctx),
    answerRules: (ctx) => connector.answerRules(ctx),
    lookupRequest: (ctx, record) => refusing(() => connector.lookupRequest(ctx, record)),
    readLookup: (ctx, record, resp) => {
      try {
        return existence(connector.readLookup(ctx, record, response(resp)));
      } catch (e) {
        return { tag: "unknown", val: refusal(e) };
      }
    },
  };
  // The `types` interface has no functions.
  return { types: {}, plugin };
}
