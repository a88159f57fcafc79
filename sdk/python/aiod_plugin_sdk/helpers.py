"""What every platform needs: `Link: rel="next"`, percent-encoding, error
snippets, byte-safe truncation and AIoD bodies without nulls."""

import json
from urllib.parse import quote


def next_link(headers):
    """The `rel="next"` target of the RFC 8288 `Link` headers, or None."""
    for name, value in headers:
        if name.lower() != "link":
            continue
        for link in value.split(","):
            target, _, params = link.partition(";")
            target = target.strip()
            if not (target.startswith("<") and target.endswith(">")) or not params:
                continue
            for param in params.split(";"):
                key, _, val = param.partition("=")
                rels = val.strip().strip('"').split()
                if key.strip().lower() == "rel" and any(r.lower() == "next" for r in rels):
                    return target[1:-1]
    return None


def encode_path(text):
    """Percent-encodes a path that may hold `/` separators (RFC 3986)."""
    return quote(text, safe="/-_.~")


def encode_component(text):
    """Percent-encodes one path segment or query component."""
    return quote(text, safe="-_.~")


def snippet(body, limit=200):
    """The start of a body (its first `limit` characters, stripped) for a message."""
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    text = body.strip()
    return text if len(text) <= limit else text[:limit] + "…"


def truncate_bytes(text, max_bytes, mark=" [...]"):
    """Cuts `text` to at most `max_bytes` UTF-8 bytes on a character boundary;
    `mark` ends a cut text (left out when it does not fit)."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    if len(mark.encode("utf-8")) > max_bytes:
        mark = ""
    cut = encoded[: max_bytes - len(mark.encode("utf-8"))]
    return cut.decode("utf-8", "ignore") + mark


def body(fields):
    """An AIoD body as JSON: the fields in the order given, those that are
    None left out (the AIoD schema declares no nullable field)."""
    return json.dumps({k: v for k, v in fields.items() if v is not None}, ensure_ascii=False)


def parse_instant(text):
    """An RFC 3339 timestamp as an aware `datetime` (UTC offsets kept, so
    instants compare), or None when it is not one."""
    from datetime import datetime

    if not isinstance(text, str) or len(text) < 20 or text[10] not in "Tt ":
        return None
    try:
        value = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None
