// The feedback memory's storage without a heap object per request: request ids, row
// predictions and flags live in preallocated typed arrays (a ring of rows, a ring of
// requests, an open-addressing hash table), so the 100,000 remembered rows are not
// objects the garbage collector copies and scans on every scavenge. Measured with
// test/bench/feedback-gc.bench.mjs (400,000 requests, 100,000-row window): a Map of
// per-request objects cost 2.8-3.4 s of GC with pauses up to 218-387 ms; this layout
// 270-336 ms with pauses up to 18-39 ms, near remembering nothing (167-260 ms).

/** What a remembered request points at besides its predictions (few distinct values). */
export type RouteRef = object;

export interface Remembered<R extends RouteRef> {
  route: R;
  predictions: unknown[];
  answered: boolean;
}

const MAX_INTERNED = 4096;

/** Hex digit value of a char code, or -1. */
function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

export class RecentRing<R extends RouteRef> {
  readonly capacity: number;
  // Rows: a prediction per slot; kind 0 number, 1 true, 2 false, 3 interned string, 4 other (in `others`).
  private readonly rowValue: Float64Array;
  private readonly rowKind: Uint8Array;
  private readonly others = new Map<number, unknown>();
  private readonly strings: string[] = [];
  private readonly stringCodes = new Map<string, number>();
  private nextRow = 0;
  private usedRows = 0;
  // Requests, in insertion order from `head` (oldest) for `count` entries.
  private readonly key: Uint32Array;
  private readonly firstRow: Int32Array;
  private readonly rowCount: Int32Array;
  private readonly routeIndex: Int32Array;
  private readonly flags: Uint8Array; // bit 0 live, bit 1 answered
  private head = 0;
  private count = 0;
  private readonly routes: R[] = [];
  private readonly routeIndexes = new Map<R, number>();
  // Open addressing, linear probing: request slot + 1, 0 empty.
  private readonly table: Int32Array;
  private readonly mask: number;
  private readonly probe = new Uint32Array(4);
  /** The key being moved during a deletion (keeps `probe` intact). */
  private readonly scratch = new Uint32Array(4);

  constructor(capacityRows: number) {
    this.capacity = Math.max(1, Math.floor(capacityRows));
    const c = this.capacity;
    this.rowValue = new Float64Array(c);
    this.rowKind = new Uint8Array(c);
    this.key = new Uint32Array(c * 4);
    this.firstRow = new Int32Array(c);
    this.rowCount = new Int32Array(c);
    this.routeIndex = new Int32Array(c);
    this.flags = new Uint8Array(c);
    let size = 16;
    while (size < c * 2) size *= 2;
    this.table = new Int32Array(size);
    this.mask = size - 1;
  }

  /** Remember a request's predictions (the newest wins for a reused id); too many rows: not kept. */
  set(id: string, route: R, predictions: readonly unknown[]): void {
    this.hashId(id);
    const previous = this.findProbe();
    if (previous >= 0) {
      this.remove(previous);
      // Its rows stay counted until the ring evicts them in order.
      this.flags[previous] = 0;
    }
    const rows = predictions.length;
    if (rows === 0 || rows > this.capacity) return;
    while (this.count > 0 && (this.usedRows + rows > this.capacity || this.count === this.capacity)) this.evictOldest();
    const slot = (this.head + this.count) % this.capacity;
    this.count++;
    this.key.set(this.probe, slot * 4);
    this.firstRow[slot] = this.nextRow;
    this.rowCount[slot] = rows;
    this.routeIndex[slot] = this.indexOfRoute(route);
    this.flags[slot] = 1;
    for (let i = 0; i < rows; i++) this.storeRow((this.nextRow + i) % this.capacity, predictions[i]);
    this.nextRow = (this.nextRow + rows) % this.capacity;
    this.usedRows += rows;
    this.insert(slot);
  }

  get(id: string): Remembered<R> | undefined {
    const slot = this.find(id);
    if (slot < 0) return undefined;
    const rows = this.rowCount[slot]!;
    const predictions = new Array<unknown>(rows);
    for (let i = 0; i < rows; i++) predictions[i] = this.loadRow((this.firstRow[slot]! + i) % this.capacity);
    return { route: this.routes[this.routeIndex[slot]!]!, predictions, answered: (this.flags[slot]! & 2) !== 0 };
  }

  markAnswered(id: string): void {
    const slot = this.find(id);
    if (slot >= 0) this.flags[slot]! |= 2;
  }

  /** Requests remembered now. */
  get size(): number {
    let live = 0;
    for (let i = 0; i < this.count; i++) if (this.flags[(this.head + i) % this.capacity]! & 1) live++;
    return live;
  }

  private evictOldest(): void {
    const slot = this.head;
    if (this.flags[slot]! & 1) this.remove(slot);
    for (let i = 0; i < this.rowCount[slot]!; i++) {
      const row = (this.firstRow[slot]! + i) % this.capacity;
      if (this.rowKind[row] === 4) this.others.delete(row);
    }
    this.usedRows -= this.rowCount[slot]!;
    this.flags[slot] = 0;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
  }

  private storeRow(row: number, value: unknown): void {
    if (this.rowKind[row] === 4) this.others.delete(row);
    if (typeof value === 'number') {
      this.rowKind[row] = 0;
      this.rowValue[row] = value;
    } else if (typeof value === 'boolean') {
      this.rowKind[row] = value ? 1 : 2;
    } else if (typeof value === 'string' && (this.stringCodes.has(value) || this.strings.length < MAX_INTERNED)) {
      let code = this.stringCodes.get(value);
      if (code === undefined) {
        code = this.strings.push(value) - 1;
        this.stringCodes.set(value, code);
      }
      this.rowKind[row] = 3;
      this.rowValue[row] = code;
    } else {
      this.rowKind[row] = 4;
      this.others.set(row, value);
    }
  }

  private loadRow(row: number): unknown {
    switch (this.rowKind[row]) {
      case 0:
        return this.rowValue[row];
      case 1:
        return true;
      case 2:
        return false;
      case 3:
        return this.strings[this.rowValue[row]!];
      default:
        return this.others.get(row);
    }
  }

  private indexOfRoute(route: R): number {
    let index = this.routeIndexes.get(route);
    if (index === undefined) {
      index = this.routes.push(route) - 1;
      this.routeIndexes.set(route, index);
    }
    return index;
  }

  /** The id's 128-bit key in `probe`: a UUID's own bits, else two 32-bit hash lanes and the length. */
  private hashId(id: string): void {
    if (id.length === 36 && this.parseUuid(id)) return;
    let a = 0x811c9dc5;
    let b = 0x01000193 ^ 0x9e3779b9;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
    }
    this.probe[0] = a >>> 0;
    this.probe[1] = b >>> 0;
    this.probe[2] = id.length;
    this.probe[3] = 0;
  }

  /** 8-4-4-4-12 hex digits (any case) into probe[0..3]; false if `id` is not a UUID. */
  private parseUuid(id: string): boolean {
    let word = 0;
    let digits = 0;
    for (let i = 0; i < 36; i++) {
      const code = id.charCodeAt(i);
      if (i === 8 || i === 13 || i === 18 || i === 23) {
        if (code !== 45) return false;
        continue;
      }
      const value = hexValue(code);
      if (value < 0) return false;
      word = (word << 4) | value;
      digits++;
      if (digits % 8 === 0) {
        this.probe[digits / 8 - 1] = word >>> 0;
        word = 0;
      }
    }
    return true;
  }

  private bucket(key: Uint32Array): number {
    return (key[0]! ^ Math.imul(key[1]!, 0x9e3779b1) ^ key[3]!) & this.mask;
  }

  private matches(slot: number): boolean {
    const base = slot * 4;
    return this.key[base] === this.probe[0] && this.key[base + 1] === this.probe[1] && this.key[base + 2] === this.probe[2] && this.key[base + 3] === this.probe[3];
  }

  private find(id: string): number {
    this.hashId(id);
    return this.findProbe();
  }

  private findProbe(): number {
    for (let i = this.bucket(this.probe); ; i = (i + 1) & this.mask) {
      const entry = this.table[i]!;
      if (entry === 0) return -1;
      if (this.matches(entry - 1)) return entry - 1;
    }
  }

  private insert(slot: number): void {
    // probe holds the slot's key (set() hashed it).
    let i = this.bucket(this.probe);
    while (this.table[i] !== 0) i = (i + 1) & this.mask;
    this.table[i] = slot + 1;
  }

  /** Remove `slot` from the table (backward-shift deletion keeps probe chains intact). */
  private remove(slot: number): void {
    const key = this.scratch;
    for (let k = 0; k < 4; k++) key[k] = this.key[slot * 4 + k]!;
    let i = this.bucket(key);
    while (this.table[i] !== slot + 1) {
      if (this.table[i] === 0) return;
      i = (i + 1) & this.mask;
    }
    let hole = i;
    for (let j = (hole + 1) & this.mask; this.table[j] !== 0; j = (j + 1) & this.mask) {
      const other = this.table[j]! - 1;
      for (let k = 0; k < 4; k++) key[k] = this.key[other * 4 + k]!;
      const home = this.bucket(key);
      // Move `other` into the hole when its home is not in (hole, j] (cyclically).
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        this.table[hole] = this.table[j]!;
        hole = j;
      }
    }
    this.table[hole] = 0;
  }
}
