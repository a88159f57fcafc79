// A Zenodo record (as `oai.js` reads it) and the answer of its files as an
// AIoD dataset body: the mapping of the AIoD Zenodo connector
// (`aiondemand/AIOD-rest-api`, `src/connectors/zenodo/zenodo_dataset_connector.py`),
// with its known bugs fixed:
// - a record with a translated or alternative title beside its main one, a
//   second abstract, no abstract, an `Issued` date of only `YYYY` or `YYYY-MM`,
//   or a creator name with no attribute was an error; now the main title, the
//   first abstract and the partial date are used, and the publication year
//   when there is no `Issued` date;
// - descriptions were cut at 1,800 characters (an old field length; the
//   schema allows 65,535) and HTML abstracts were sent as plain text;
// - `same_as` pointed at the REST API's JSON, not at the record's page;
// - the first `rights` could be an access right (`info:eu-repo/semantics/...`),
//   not a license; subjects with attributes were dropped; file sizes were not
//   mapped; `publisher` is not a field of the AIoD dataset schema;
// - a failed files request stopped the whole run; here it costs the record's
//   distributions, with a warning, and the host asks again.
// Creators are not mapped: AIoD takes them as identifiers of contacts, which a
// plugin cannot create.

import { Invalid, Skip, asset, snippet, text, truncate } from "../../../sdk/js/aiod-plugin-sdk.js";

/// Field lengths of the AIoD dataset schema, in characters.
const NAME = 256;
const TEXT = 65535;
const URL = 1800;

/// Zenodo's page of record `number` (what `same_as` names).
export function landingPage(number) {
  return `https://zenodo.org/records/${number}`;
}

/// The AIoD dataset of `record`, given the answer to its files request
/// (`{status, body}`, or undefined when none was made).
export function mapRecord(platform, record, files) {
  if (record.deleted) throw new Skip("deleted on Zenodo");
  const r = record.resource;
  if (r === undefined) throw new Invalid("the record has no DataCite metadata");
  if (r.resourceType !== "Dataset") {
    throw new Skip(`not a dataset (its DataCite resourceTypeGeneral is ${JSON.stringify(r.resourceType)})`);
  }
  if (record.number === undefined) throw new Invalid(`${JSON.stringify(record.id)} is not a Zenodo record identifier`);
  const main = r.titles.find((t) => t.type === undefined && t.text !== "") ?? r.titles.find((t) => t.text !== "");
  if (main === undefined) throw new Invalid("the record has no title");

  const warnings = [];
  const { distribution, again } = distributions(files, warnings);
  const fields = {
    platform,
    platform_resource_identifier: record.id,
    name: truncate(main.text, NAME),
    same_as: landingPage(record.number),
    description: description(r.descriptions),
    date_published: published(r),
    license: license(r.rights),
    version: r.version === "" ? undefined : truncate(r.version, NAME),
    keyword: keywords(r.subjects),
    distribution,
  };
  return { assets: [asset("datasets", record.id, fields)], warnings, again };
}

function description(descriptions) {
  const abstract = descriptions.find((d) => d.type === "Abstract" && d.text !== "");
  if (abstract === undefined) return undefined;
  // Line breaks inside a paragraph are the XML's layout; blank lines part paragraphs.
  const paragraphs = abstract.text.split(/\n\s*\n/).map((p) => p.replace(/\s+/g, " ").trim());
  const joined = truncate(paragraphs.filter((p) => p !== "").join("\n\n"), TEXT);
  // Zenodo abstracts are usually HTML (escaped inside the XML).
  return /<\/?[a-z][a-z0-9]*(\s[^<>]*)?\/?>/i.test(joined) ? { html: joined } : { plain: joined };
}

/// DataCite dates are `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, a date-time, or a
/// range `start/end` (RKMS-ISO8601); AIoD wants a UTC date-time.
export function dateTime(value) {
  const start = value.split("/")[0].trim();
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?)?)?/.exec(start);
  if (m === null) return undefined;
  const [, y, mo = "01", d = "01", h = "00", mi = "00", s = "00"] = m;
  const date = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s));
  // Reject what the calendar does not have (e.g. 2023-02-30 would roll over).
  if (date.getUTCMonth() !== +mo - 1 || date.getUTCDate() !== +d || +h > 23 || +mi > 59 || +s > 59) return undefined;
  return `${y}-${mo}-${d}T${h}:${mi}:${s}`;
}

function published(r) {
  const issued = r.dates.find((d) => d.type === "Issued");
  return (issued && dateTime(issued.text)) ?? (/^\d{4}$/.test(r.publicationYear) ? dateTime(r.publicationYear) : undefined);
}

function license(rights) {
  // `info:eu-repo/semantics/openAccess` and the like are access rights.
  const found = rights.find((r) => r.text !== "" && !(r.uri ?? "").startsWith("info:eu-repo/semantics/"));
  return found === undefined ? undefined : truncate(found.text, NAME);
}

function keywords(subjects) {
  // Zenodo authors often type several keywords, `;`-separated, into one subject.
  const out = [];
  for (const subject of subjects) {
    for (const part of subject.split(";")) {
      const k = truncate(part.trim(), NAME);
      if (k !== "" && !out.includes(k)) out.push(k);
    }
  }
  return out;
}

/// The distributions in the answer to `/api/records/{id}/files`, and why the
/// record must be mapped again (undefined when what was read stands).
function distributions(files, warnings) {
  if (files === undefined) return { distribution: [], again: undefined };
  const { status } = files;
  if (status === 403 || status === 410) {
    // Restricted or removed files: the record is public, its files are not.
    warnings.push(`its files are not public (HTTP ${status}): no distributions`);
    return { distribution: [], again: undefined };
  }
  if (status !== 200) {
    warnings.push(`its files could not be read (${status === 0 ? "no answer" : `HTTP ${status}`}: ${snippet(files.body)}): no distributions this time`);
    return { distribution: [], again: undefined };
  }
  let entries;
  try {
    entries = JSON.parse(text(files.body)).entries;
  } catch (e) {
    warnings.push(`its files answer is not JSON (${e.message}): no distributions this time`);
    return { distribution: [], again: "the files answer was not JSON" };
  }
  if (!Array.isArray(entries)) {
    warnings.push(`its files answer has no list of entries: ${snippet(files.body)}`);
    return { distribution: [], again: "the files answer had no entries" };
  }
  const distribution = [];
  for (const entry of entries) {
    const d = file(entry);
    if (typeof d === "string") warnings.push(d);
    else distribution.push(d);
  }
  return { distribution, again: undefined };
}

/// One file entry as a distribution, or why it cannot be one.
function file(entry) {
  const key = typeof entry?.key === "string" ? entry.key : undefined;
  const url = entry?.links?.content;
  if (key === undefined || typeof url !== "string") return `a file entry without a key or content link: ${snippet(JSON.stringify(entry ?? null))}`;
  // A cut URL would point elsewhere: leave such a file out.
  if (Array.from(url).length > URL) return `file ${JSON.stringify(truncate(key, 80))} has a content link longer than ${URL} characters`;
  const d = { name: truncate(key, NAME), content_url: url };
  if (typeof entry.mimetype === "string" && entry.mimetype !== "") d.encoding_format = truncate(entry.mimetype, NAME);
  const checksum = typeof entry.checksum === "string" ? entry.checksum : "";
  const colon = checksum.indexOf(":");
  // Split as `md5:<hex>`; an algorithm or value longer than its field is left out, not cut.
  if (colon > 0 && colon <= 64 && colon < checksum.length - 1 && checksum.length - colon - 1 <= URL) {
    d.checksum_algorithm = checksum.slice(0, colon);
    d.checksum = checksum.slice(colon + 1);
  }
  if (Number.isSafeInteger(entry.size) && entry.size >= 0) d.content_size_kb = Math.ceil(entry.size / 1024);
  return d;
}
