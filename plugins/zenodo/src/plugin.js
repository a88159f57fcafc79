// The Zenodo plugin: lists records over OAI-PMH (as the AIoD Zenodo connector
// does), reads each dataset's files from the REST API and maps them to AIoD
// datasets. It does no I/O: it plans requests and reads the answers; the host
// performs every request.

import { ALL, ID, Connector, Invalid, Unsupported, request, snippet } from "../../../sdk/js/aiod-plugin-sdk.js";
import { mapRecord } from "./mapping.js";
import { OAI, OAI_PATH, getRecord, listRecords, read, resume } from "./oai.js";

export const VERSION = "0.1.0";
/// The REST API, for a record's files.
export const API = "api";

/// `/api/records/{number}/files`: every file of a record (key, size, checksum,
/// MIME type, download link).
export function filesPath(number) {
  return `/api/records/${number}/files`;
}

/// A record's platform id from what an operator types: `zenodo.org:123` or `123`.
function platformId(value) {
  return /^\d+$/.test(value) ? `zenodo.org:${value}` : value;
}

export class Zenodo extends Connector {
  info() {
    return {
      name: "zenodo",
      version: VERSION,
      platform: "zenodo",
      endpoints: [
        {
          name: OAI,
          defaultBaseUrl: "https://zenodo.org",
          envOverride: "ZENODO_ENDPOINT",
          description: "Zenodo OAI-PMH 2.0 interface (record listing, DataCite metadata)",
          // Zenodo allows 120 OAI-PMH harvesting requests a minute (the limit
          // the AIoD Zenodo connector paces itself to).
          budget: { requests: 120, requestsWithToken: 120, windowSeconds: 60 },
          tokenEnv: [],
        },
        {
          name: API,
          defaultBaseUrl: "https://zenodo.org",
          envOverride: "ZENODO_ENDPOINT",
          description: "Zenodo REST API (a record's files)",
          // Zenodo allows guests 60 requests a minute and 2,000 an hour; 33 a
          // minute keeps within both. No token: it would show restricted files.
          budget: { requests: 33, requestsWithToken: 33, windowSeconds: 60 },
          tokenEnv: [],
        },
      ],
      assetTypes: ["datasets"],
    };
  }

  start(_ctx, mode) {
    if (mode.kind === ALL) return [listRecords(undefined)];
    if (mode.kind === ID) {
      const lookup = getRecord(platformId(mode.value));
      if (lookup === undefined) throw new Unsupported(`${JSON.stringify(mode.value)} is not a Zenodo record id (e.g. zenodo.org:7947283 or 7947283)`);
      return [lookup];
    }
    return [listRecords(mode.value)];
  }

  handlePage(_ctx, mode, _request, response) {
    const page = read(response);
    if (page.error !== undefined) {
      const { code, message } = page.error;
      if (code === "noRecordsMatch") return { records: [], next: undefined };
      if (code === "badResumptionToken") {
        throw new Unsupported(`Zenodo refused the listing's resumption token (they expire within minutes): ${message}`);
      }
      if (code === "idDoesNotExist" && mode.kind === ID) throw new Unsupported(`Zenodo has no record ${mode.value}`);
      throw new Unsupported(`Zenodo's OAI-PMH interface answered error ${code}: ${message}`);
    }
    const records = page.records.map((r) => ({
      id: r.id,
      label: r.resource?.titles[0]?.text || r.id,
      // The datestamp changes whenever the record does.
      version: r.datestamp,
      data: JSON.stringify(r),
      // Only datasets are mapped, so only theirs are worth a request.
      followUps:
        !r.deleted && r.number !== undefined && r.resource?.resourceType === "Dataset"
          ? [request(API, filesPath(r.number), { headers: [["accept", "application/json"]] })]
          : [],
    }));
    return { records, next: page.token === undefined ? undefined : resume(page.token) };
  }

  probes(_ctx) {
    return [
      request(OAI, OAI_PATH, { query: [["verb", "Identify"]] }),
      request(API, "/api/records", { query: [["size", "1"]], headers: [["accept", "application/json"]] }),
    ];
  }

  map(ctx, record, followUps) {
    let data;
    try {
      data = JSON.parse(record.data);
    } catch (e) {
      throw new Invalid(`not a record: ${e.message}`);
    }
    const files = followUps.find((f) => f.request.endpoint === API);
    return mapRecord(ctx.platform, data, files?.response);
  }

  lookupRequest(_ctx, missing) {
    const lookup = getRecord(missing.id);
    if (lookup === undefined) throw new Unsupported(`${JSON.stringify(missing.id)} is not a Zenodo record id, so it cannot be looked up`);
    return lookup;
  }

  readLookup(_ctx, _missing, response) {
    if (response.status === 0) return { kind: "unknown", reason: `no answer: ${snippet(response.body)}` };
    let page;
    try {
      page = read(response);
    } catch (e) {
      return { kind: "unknown", reason: e.message };
    }
    if (page.error !== undefined) {
      if (page.error.code === "idDoesNotExist") return { kind: "gone", reason: "Zenodo does not know the record (idDoesNotExist)" };
      return { kind: "unknown", reason: `OAI-PMH error ${page.error.code}: ${page.error.message}` };
    }
    const [found] = page.records;
    if (found === undefined) return { kind: "unknown", reason: "the answer holds no record" };
    if (found.deleted) return { kind: "gone", reason: "deleted on Zenodo" };
    return { kind: "exists" };
  }
}
