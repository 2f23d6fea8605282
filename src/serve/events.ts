// Progress and incidents of a running server, for the CLI to print (stderr) as they come.
// Every event carries a one-line `message`; the other fields are for --json consumers.

export type ServeEvent =
  | { type: 'loaded'; level: 'info'; message: string; model: string; version: string; ms: number; worker?: number }
  | { type: 'ready'; level: 'info'; message: string; url: string }
  | { type: 'reloaded'; level: 'info'; message: string; model: string; from: string; to: string; worker?: number }
  | { type: 'experiment'; level: 'info'; message: string; model: string; worker?: number }
  | { type: 'reload_failed'; level: 'warn'; message: string; model: string; version?: string; worker?: number }
  | { type: 'shadow_error'; level: 'warn'; message: string; model: string; version: string; worker?: number }
  | { type: 'log_error'; level: 'error'; message: string; worker?: number }
  | { type: 'worker_exit'; level: 'warn'; message: string; worker: number; code: number | null; signal: string | null }
  | { type: 'draining'; level: 'info'; message: string }
  | { type: 'drained'; level: 'info'; message: string }
  | { type: 'warn'; level: 'warn'; message: string; worker?: number }
  | { type: 'internal_error'; level: 'error'; message: string; worker?: number };

export type OnServeEvent = (event: ServeEvent) => void;

/** Events from a cluster worker carry its id; the message says which worker too. */
export function fromWorker(event: ServeEvent, worker: number): ServeEvent {
  if (event.type === 'ready' || event.type === 'draining' || event.type === 'drained' || event.type === 'worker_exit') return event;
  return { ...event, worker, message: `worker ${worker}: ${event.message}` };
}
