// Path segments as clients send them: percent-encoded.

/** Decode one percent-encoded path segment. */
export function decodePathPart(raw: string, _what: string): string {
  return decodeURIComponent(raw);
}
