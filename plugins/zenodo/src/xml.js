// A small XML reader for OAI-PMH answers: elements (named by their local name,
// without namespace prefix), attributes, text with the predefined and numeric
// entities decoded, CDATA. Comments, processing instructions and the XML
// declaration are skipped; a DOCTYPE is refused (so no entity can expand).
// Iterative, with a depth limit: a hostile answer gets an error, not a stack
// overflow.

const MAX_DEPTH = 256;

/// An element: `{name, attrs: {localName: value}, children: [element | string]}`.
export class XmlError extends Error {}

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decode(raw, at) {
  if (!raw.includes("&")) return raw;
  return raw.replace(/&([^;&\s]{1,10});/g, (whole, name) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      if (!Number.isInteger(code) || code < 1 || code > 0x10ffff) throw new XmlError(`bad character reference ${whole} near offset ${at}`);
      return String.fromCodePoint(code);
    }
    if (!(name in ENTITIES)) throw new XmlError(`unknown entity ${whole} near offset ${at}`);
    return ENTITIES[name];
  });
}

function localName(qname) {
  const colon = qname.indexOf(":");
  return colon < 0 ? qname : qname.slice(colon + 1);
}

const ATTRIBUTE = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/// Parses `text` into its root element.
export function parse(text) {
  const root = { name: "#document", attrs: {}, children: [] };
  const stack = [root];
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const end = lt < 0 ? text.length : lt;
    if (end > i) {
      const raw = text.slice(i, end);
      if (stack.length > 1) stack[stack.length - 1].children.push(decode(raw, i));
      else if (raw.trim() !== "") throw new XmlError(`text outside the root element at offset ${i}`);
    }
    if (lt < 0) break;
    if (text.startsWith("<!--", lt)) {
      i = after(text, "-->", lt);
    } else if (text.startsWith("<![CDATA[", lt)) {
      const close = text.indexOf("]]>", lt);
      if (close < 0) throw new XmlError(`unterminated CDATA at offset ${lt}`);
      stack[stack.length - 1].children.push(text.slice(lt + 9, close));
      i = close + 3;
    } else if (text.startsWith("<?", lt)) {
      i = after(text, "?>", lt);
    } else if (text.startsWith("<!", lt)) {
      throw new XmlError(`declarations (DOCTYPE) are not accepted (offset ${lt})`);
    } else if (text[lt + 1] === "/") {
      const close = text.indexOf(">", lt);
      if (close < 0) throw new XmlError(`unterminated end tag at offset ${lt}`);
      const name = localName(text.slice(lt + 2, close).trim());
      const open = stack.pop();
      if (stack.length === 0 || open.name !== name) {
        throw new XmlError(`end tag </${name}> does not close <${open ? open.name : ""}> (offset ${lt})`);
      }
      i = close + 1;
    } else {
      const close = tagEnd(text, lt);
      let inner = text.slice(lt + 1, close);
      const selfClosing = inner.endsWith("/");
      if (selfClosing) inner = inner.slice(0, -1);
      const nameEnd = inner.search(/[\s]|$/);
      const name = localName(inner.slice(0, nameEnd));
      if (name === "") throw new XmlError(`a tag without a name at offset ${lt}`);
      const attrs = {};
      for (const m of inner.slice(nameEnd).matchAll(ATTRIBUTE)) {
        attrs[localName(m[1])] = decode(m[2] ?? m[3], lt);
      }
      const element = { name, attrs, children: [] };
      const parent = stack[stack.length - 1];
      if (parent === root && root.children.length > 0) throw new XmlError(`a second root element at offset ${lt}`);
      parent.children.push(element);
      if (!selfClosing) {
        if (stack.length > MAX_DEPTH) throw new XmlError(`elements nested deeper than ${MAX_DEPTH}`);
        stack.push(element);
      }
      i = close + 1;
    }
  }
  if (stack.length > 1) throw new XmlError(`<${stack[stack.length - 1].name}> is not closed (the answer ends early)`);
  const [top] = root.children;
  if (top === undefined) throw new XmlError("no element at all");
  return top;
}

function after(text, marker, from) {
  const at = text.indexOf(marker, from);
  if (at < 0) throw new XmlError(`unterminated markup at offset ${from}`);
  return at + marker.length;
}

/// The `>` that ends the tag starting at `lt`, skipping quoted attribute values.
function tagEnd(text, lt) {
  let quote = "";
  for (let j = lt + 1; j < text.length; j++) {
    const c = text[j];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === ">") {
      return j;
    }
  }
  throw new XmlError(`unterminated tag at offset ${lt}`);
}

/// The child elements of `el` named `name`.
export function all(el, name) {
  return el ? el.children.filter((c) => typeof c !== "string" && c.name === name) : [];
}

/// The first child element of `el` named `name`, or undefined.
export function child(el, name) {
  return el ? el.children.find((c) => typeof c !== "string" && c.name === name) : undefined;
}

/// The element reached by following `names` from `el`, or undefined.
export function path(el, ...names) {
  return names.reduce((at, n) => child(at, n), el);
}

/// The text inside `el` (all descendants), trimmed; with `collapse`, every run
/// of whitespace becomes one space (XML pretty-printing adds line breaks).
export function textOf(el, { collapse = true } = {}) {
  if (el === undefined) return "";
  const parts = [];
  const walk = (e) => e.children.forEach((c) => (typeof c === "string" ? parts.push(c) : walk(c)));
  walk(el);
  const joined = parts.join("");
  return (collapse ? joined.replace(/\s+/g, " ") : joined).trim();
}
