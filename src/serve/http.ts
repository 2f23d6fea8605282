// HTTP plumbing for the server: bounded body reading, JSON answers, client errors as values.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorType } from './metrics.js';

/** A request the server answers with an error status; never a crash. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType,
    /** Close the connection after answering (the rest of the body is not worth reading). */
    readonly closeConnection = false,
  ) {
    super(message);
  }
}

/** The client went away before its body arrived: nobody to answer. */
export class ClientGone extends Error {}

/** Past this, an oversized body is not even drained: answer 413 and drop the connection. */
const DRAIN_CAP = 16 * 1024 * 1024;

export function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  const hardCap = Math.max(DRAIN_CAP, maxBytes * 4);
  if (Number.isFinite(declared) && declared > hardCap) {
    return Promise.reject(new HttpError(413, tooLarge(maxBytes), 'body_too_large', true));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let overLimit = Number.isFinite(declared) && declared > maxBytes;
    let settled = false;
    const finish = (error: Error | undefined, body?: Buffer) => {
      if (settled) return;
      settled = true;
      request.removeListener('data', onData);
      request.removeListener('error', onGone);
      request.removeListener('close', onGone);
      if (error) reject(error);
      else resolve(body!);
    };
    // Built only when needed: an Error's stack trace costs more than the rest of a small request.
    const onGone = () => {
      if (!settled) finish(new ClientGone());
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > hardCap) {
        request.pause();
        finish(new HttpError(413, tooLarge(maxBytes), 'body_too_large', true));
        return;
      }
      if (total > maxBytes) overLimit = true;
      if (!overLimit) chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => {
      if (overLimit) finish(new HttpError(413, tooLarge(maxBytes), 'body_too_large'));
      else finish(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    });
    request.once('error', onGone);
    request.once('close', onGone);
  });
}

function tooLarge(maxBytes: number): string {
  return `request body is larger than the ${formatBytes(maxBytes)} limit; send fewer rows per request or raise --max-body`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KB`;
  return `${bytes} bytes`;
}

/** Accept JSON, or no content type at all (curl --data-binary); refuse forms, compression, others. */
export function checkContentType(request: IncomingMessage): void {
  const encoding = request.headers['content-encoding'];
  if (encoding && encoding !== 'identity') {
    throw new HttpError(415, `Content-Encoding ${encoding} is not supported; send the JSON uncompressed`, 'validation');
  }
  const type = request.headers['content-type'];
  if (!type) return;
  const mime = type.split(';', 1)[0]!.trim().toLowerCase();
  if (mime === 'application/json' || mime.endsWith('+json')) return;
  throw new HttpError(415, `Content-Type ${mime} is not supported; send JSON with Content-Type: application/json`, 'validation');
}

export function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw new HttpError(400, 'request body is empty; send a JSON object', 'malformed_json');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `request body is not valid JSON (${(error as Error).message}); check quoting and brackets`, 'malformed_json');
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

export function sendText(response: ServerResponse, status: number, text: string, contentType: string): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
