// Writing the prediction log: JSON lines written in the background (buffered, one write
// per flush, never a write per request) with size-based rotation (log, log.1 ... log.N).
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { messageOf } from '../errors.js';

/** Where log lines go: a file in this process, or the cluster primary through IPC. */
export interface LogSink {
  /** One or more complete lines, each ending in "\n". */
  write(lines: string): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

const FLUSH_INTERVAL_MS = 100;
const FLUSH_BYTES = 256 * 1024;
/** A disk slower than the traffic loses lines rather than the process's memory. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

export class RotatingLogWriter implements LogSink {
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private handle: FileHandle | undefined;
  private size = 0;
  private closed = false;
  private failing = false;
  private dropped = 0;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    private readonly keep: number,
    private readonly onError: (message: string) => void,
  ) {}

  write(lines: string): void {
    if (this.closed) return;
    if (this.pendingBytes > MAX_PENDING_BYTES) {
      this.dropped++;
      return;
    }
    this.pending.push(lines);
    this.pendingBytes += lines.length;
    if (this.pendingBytes >= FLUSH_BYTES) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS).unref();
  }

  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.chain = this.chain.then(() => this.writeOut());
    return this.chain;
  }

  async close(): Promise<void> {
    if (this.closed) return this.chain;
    await this.flush();
    this.closed = true;
    this.chain = this.chain.then(async () => {
      await this.handle?.close().catch(() => undefined);
      this.handle = undefined;
    });
    return this.chain;
  }

  private async writeOut(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    const bytes = Buffer.byteLength(text);
    try {
      if (!this.handle) await this.openFile();
      if (this.size > 0 && this.size + bytes > this.maxBytes) await this.rotate();
      await this.handle!.write(text);
      this.size += bytes;
      if (this.failing || this.dropped) {
        this.onError(`prediction log ${this.path} is writable again${this.dropped ? ` (${this.dropped} writes were dropped while the disk was behind)` : ''}`);
        this.failing = false;
        this.dropped = 0;
      }
    } catch (error) {
      // Serving goes on without the log; say so once until it recovers.
      if (!this.failing) this.onError(`cannot write the prediction log ${this.path}: ${messageOf(error)}`);
      this.failing = true;
      await this.handle?.close().catch(() => undefined);
      this.handle = undefined;
    }
  }

  private async openFile(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    this.handle = await open(this.path, 'a');
    this.size = (await this.handle.stat()).size;
  }

  private async rotate(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    await rm(`${this.path}.${this.keep}`, { force: true });
    for (let index = this.keep - 1; index >= 1; index--) {
      await rename(`${this.path}.${index}`, `${this.path}.${index + 1}`).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
    await rename(this.path, `${this.path}.1`);
    await this.openFile();
  }
}
