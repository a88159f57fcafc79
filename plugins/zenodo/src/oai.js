// Zenodo's OAI-PMH 2.0 interface (`/oai2d`) with the DataCite metadata format:
// the requests that list records, and the reading of an answer into records.
//
// OAI-PMH (https://www.openarchives.org/OAI/openarchivesprotocol.html): a
// `ListRecords` answer holds up to a server-chosen number of records and a
// `resumptionToken`; the next page is asked for with that token alone (any
// other argument is an error), and the last page has an empty token or none.
// Errors are `<error code="...">` elements; Zenodo (invenio-oaiserver) sends
// them with HTTP 422, the protocol with HTTP 200, so both are read.
// `noRecordsMatch` is an empty listing, not a failure. A record removed from
// Zenodo stays listed as a header with `status="deleted"` and no metadata.

import { Unsupported, request, snippet, text } from "../../../sdk/js/aiod-plugin-sdk.js";
import { XmlError, all, child, parse, path, textOf } from "./xml.js";

export const OAI = "oai";
export const OAI_PATH = "/oai2d";
const PREFIX = "oai_datacite";
/// The OAI identifiers of Zenodo records: `oai:zenodo.org:<record number>`.
const IDENTIFIER = /^oai:zenodo\.org:(\d{1,20})$/;

/// The first request of a listing of every record (`since` undefined) or of
/// those changed at or after `since` (an RFC 3339 UTC instant).
export function listRecords(since) {
  const query = [
    ["verb", "ListRecords"],
    ["metadataPrefix", PREFIX],
  ];
  // Zenodo's granularity is whole seconds in UTC (`YYYY-MM-DDThh:mm:ssZ`).
  if (since !== undefined) query.push(["from", since.slice(0, 19) + "Z"]);
  return request(OAI, OAI_PATH, { query });
}

/// The next page of a listing.
export function resume(token) {
  return request(OAI, OAI_PATH, {
    query: [
      ["verb", "ListRecords"],
      ["resumptionToken", token],
    ],
  });
}

/// The record with platform id `id` (`zenodo.org:<number>`), or undefined for
/// an id that is not a Zenodo record's.
export function getRecord(id) {
  const identifier = `oai:${id}`;
  if (!IDENTIFIER.test(identifier)) return undefined;
  return request(OAI, OAI_PATH, {
    query: [
      ["verb", "GetRecord"],
      ["metadataPrefix", PREFIX],
      ["identifier", identifier],
    ],
  });
}

/// What an answer says: `{records, token}` (`token` undefined on the last
/// page), or `{error: {code, message}}` for an OAI-PMH error. Throws
/// `Unsupported`, saying why, for an answer that is neither.
export function read(response) {
  const { status } = response;
  if (status !== 200 && status !== 422) {
    throw new Unsupported(`Zenodo's OAI-PMH interface answered HTTP ${status}: ${snippet(response.body)}`);
  }
  let root;
  try {
    root = parse(text(response.body));
  } catch (e) {
    if (e instanceof XmlError) throw new Unsupported(`Zenodo's OAI-PMH answer (HTTP ${status}) is not XML: ${e.message}`);
    throw e;
  }
  if (root.name !== "OAI-PMH") throw new Unsupported(`expected an OAI-PMH answer, got <${root.name}>`);
  const error = child(root, "error");
  if (error !== undefined) return { error: { code: error.attrs.code ?? "", message: textOf(error) } };
  if (status !== 200) throw new Unsupported(`Zenodo answered HTTP ${status} without an OAI-PMH error`);
  const list = child(root, "ListRecords") ?? child(root, "GetRecord");
  if (list === undefined) throw new Unsupported("the OAI-PMH answer holds neither ListRecords nor GetRecord");
  const token = textOf(child(list, "resumptionToken"));
  return { records: all(list, "record").map(record), token: token === "" ? undefined : token };
}

/// One `<record>` as the data a mapping needs (JSON-friendly, so the host can
/// store it and hand it back): `{id, number, datestamp, deleted, resource}`.
function record(el) {
  const header = child(el, "header");
  const identifier = textOf(child(header, "identifier"));
  const match = IDENTIFIER.exec(identifier);
  return {
    // `zenodo.org:<number>`, as the AIoD Zenodo connector names records.
    id: identifier.replace(/^oai:/, ""),
    number: match ? match[1] : undefined,
    datestamp: textOf(child(header, "datestamp")),
    deleted: header !== undefined && header.attrs.status === "deleted",
    resource: datacite(path(el, "metadata", "oai_datacite", "payload", "resource")),
  };
}

/// The DataCite kernel-4 fields the mapping reads, or undefined without metadata.
function datacite(resource) {
  if (resource === undefined) return undefined;
  const texts = (group, item) => all(child(resource, group), item);
  return {
    doi: textOf(child(resource, "identifier")),
    resourceType: child(resource, "resourceType")?.attrs.resourceTypeGeneral ?? "",
    titles: texts("titles", "title").map((t) => ({ text: textOf(t), type: t.attrs.titleType })),
    creators: texts("creators", "creator").map((c) => textOf(child(c, "creatorName"))),
    descriptions: texts("descriptions", "description").map((d) => ({
      text: textOf(d, { collapse: false }),
      type: d.attrs.descriptionType,
    })),
    dates: texts("dates", "date").map((d) => ({ text: textOf(d), type: d.attrs.dateType })),
    publicationYear: textOf(child(resource, "publicationYear")),
    rights: texts("rightsList", "rights").map((r) => ({
      text: textOf(r),
      uri: r.attrs.rightsURI,
      identifier: r.attrs.rightsIdentifier,
    })),
    subjects: texts("subjects", "subject").map((s) => textOf(s)),
    version: textOf(child(resource, "version")),
  };
}
