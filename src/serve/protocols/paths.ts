// Path segments as clients send them: percent-encoded, and any client can send a bad one.
import { HttpError } from '../http.js';

/** Decode one percent-encoded path segment; a bad encoding is the client's error (400), not a fault. */
export function decodePathPart(raw: string, what: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `the ${what} in the path is not valid percent-encoding: ${JSON.stringify(raw.slice(0, 100))}`, 'validation');
  }
}
