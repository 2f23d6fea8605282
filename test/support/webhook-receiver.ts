// A real HTTP webhook receiver on loopback (node:http) that records every request and
// can misbehave on purpose: answer 5xx a set number of times, answer 4xx, or be slow.
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
}

export interface ReceiverBehaviour {
  /** Answer `failStatus` (default 500) to the first N requests, then 200. */
  failTimes?: number;
  failStatus?: number;
  /** Always answer this status (e.g. 400) instead of 200. */
  status?: number;
  /** Wait this long before answering each request. */
  delayMs?: number;
}

export interface WebhookReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Replaces the behaviour; resets the failure counter. */
  configure(behaviour: ReceiverBehaviour): void;
  waitForRequests(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  stop(): Promise<void>;
}

export async function startWebhookReceiver(initial: ReceiverBehaviour = {}): Promise<WebhookReceiver> {
  let behaviour = initial;
  let failuresLeft = initial.failTimes ?? 0;
  const requests: ReceivedRequest[] = [];
  const pending = new Set<NodeJS.Timeout>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      requests.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body, json });
      let status = behaviour.status ?? 200;
      if (failuresLeft > 0) {
        failuresLeft--;
        status = behaviour.failStatus ?? 500;
      }
      const answer = () => {
        if (response.destroyed) return;
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ ok: status < 300 }));
      };
      if (behaviour.delayMs) {
        const timer = setTimeout(() => {
          pending.delete(timer);
          answer();
        }, behaviour.delayMs);
        pending.add(timer);
      } else {
        answer();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    configure(next) {
      behaviour = next;
      failuresLeft = next.failTimes ?? 0;
    },
    async waitForRequests(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        if (Date.now() > deadline) throw new Error(`webhook receiver got ${requests.length} of ${count} requests within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return requests;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const timer of pending) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
