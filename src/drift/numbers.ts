// Number parsing for the readers: a byte-level fast path (Clinger) for the common decimal token,
// the text path for everything else, and the tokens that mean "missing".
import { CR } from './data.js';

/** Tokens that mean "no value" in a numeric column (compared lower-case). */
const MISSING_TOKENS = new Set(['', 'na', 'n/a', 'nan', '-nan', 'null', 'none']);
const NUMBER_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
export const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

export const PARSE_OK = 0;
export const PARSE_MISSING = 1;
export const PARSE_INVALID = 2;

/** Status of the last parse call; a module variable keeps the hot path free of allocations. */
export let parseStatus = PARSE_OK;

/** For readers that decide a value's status themselves (a JSON number is always ok). */
export function setParseStatus(status: number): void {
  parseStatus = status;
}

/** Parses a number token from text (already unquoted); sets parseStatus. */
export function parseNumberText(text: string): number {
  const token = text.trim();
  const lower = token.toLowerCase();
  if (MISSING_TOKENS.has(lower)) {
    parseStatus = PARSE_MISSING;
    return Number.NaN;
  }
  if (NUMBER_PATTERN.test(token)) {
    parseStatus = PARSE_OK;
    return Number(token);
  }
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity' || lower === '+infinity') {
    parseStatus = PARSE_OK;
    return Infinity;
  }
  if (lower === '-inf' || lower === '-infinity') {
    parseStatus = PARSE_OK;
    return -Infinity;
  }
  parseStatus = PARSE_INVALID;
  return Number.NaN;
}

/**
 * Parses the bytes [start, end) as a decimal number. Up to 15 significant digits and a power
 * of ten within 1e±22 take Clinger's fast path (one exact multiply or divide, so correctly
 * rounded); anything else goes through Number() on the text.
 */
export function parseNumberBytes(buf: Uint8Array, start: number, end: number): number {
  let s = start;
  let e = end;
  while (s < e && (buf[s] === 0x20 || buf[s] === 0x09)) s++;
  while (e > s && (buf[e - 1] === 0x20 || buf[e - 1] === 0x09 || buf[e - 1] === CR)) e--;
  if (s === e) {
    parseStatus = PARSE_MISSING;
    return Number.NaN;
  }
  let p = s;
  let negative = false;
  const c = buf[p]!;
  if (c === 0x2d) {
    negative = true;
    p++;
  } else if (c === 0x2b) {
    p++;
  }
  let mantissa = 0;
  let significant = 0;
  let exponent = 0;
  let digits = 0;
  while (p < e) {
    const d = buf[p]! - 0x30;
    if (d < 0 || d > 9) break;
    if (mantissa !== 0 || d !== 0) significant++;
    mantissa = mantissa * 10 + d;
    digits++;
    p++;
  }
  if (p < e && buf[p] === 0x2e) {
    p++;
    while (p < e) {
      const d = buf[p]! - 0x30;
      if (d < 0 || d > 9) break;
      if (mantissa !== 0 || d !== 0) significant++;
      mantissa = mantissa * 10 + d;
      exponent--;
      digits++;
      p++;
    }
  }
  if (digits === 0) return parseNumberText(Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1'));
  if (p < e && (buf[p] === 0x65 || buf[p] === 0x45)) {
    p++;
    let expNegative = false;
    if (p < e && (buf[p] === 0x2d || buf[p] === 0x2b)) {
      expNegative = buf[p] === 0x2d;
      p++;
    }
    let expValue = 0;
    let expDigits = 0;
    while (p < e) {
      const d = buf[p]! - 0x30;
      if (d < 0 || d > 9) break;
      expValue = expValue * 10 + d;
      expDigits++;
      p++;
    }
    if (expDigits === 0 || expValue > 100_000) {
      return parseNumberText(Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1'));
    }
    exponent += expNegative ? -expValue : expValue;
  }
  if (p !== e || significant > 15) {
    return parseNumberText(Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1'));
  }
  parseStatus = PARSE_OK;
  let value: number;
  if (mantissa === 0) value = 0;
  else if (exponent === 0) value = mantissa;
  else if (exponent > 0 && exponent <= 22) value = mantissa * POW10[exponent]!;
  else if (exponent < 0 && exponent >= -22) value = mantissa / POW10[-exponent]!;
  else return parseNumberText(Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1'));
  return negative ? -value : value;
}

export function isNumericText(text: string): boolean {
  parseNumberText(text);
  return parseStatus !== PARSE_INVALID;
}
