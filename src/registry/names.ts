// Model names, versions and references (NAME@VERSION, NAME@production): validation,
// parsing and ordering. Names end up in paths, image tags and Kubernetes labels.
import { UsageError } from '../errors.js';
import type { Status } from './types.js';

/** Lower-case letters, digits, '.', '_' and '-'; starts and ends alphanumeric; 1-63 characters. */
export const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?$/;
/** vMAJOR.MINOR.PATCH with an optional -prerelease; the leading v is added when missing. */
export const VERSION_PATTERN = /^v(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-([0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*))?$/;

/** Versions longer than this are refused before anything is written (file and key names have limits). */
export const MAX_VERSION_LENGTH = 128;

export const STAGE_REFS = ['production', 'staging', 'latest'] as const;
export type StageRef = (typeof STAGE_REFS)[number];

export function validateName(name: string): string {
  if (!NAME_PATTERN.test(name) || name.includes('..')) {
    throw new UsageError(
      `invalid model name '${name}'`,
      'use 1-63 lower-case letters, digits, ".", "_" or "-", starting and ending with a letter or digit (e.g. fraud-detector)',
      'invalid_name',
    );
  }
  return name;
}

export function normalizeVersion(version: string): string {
  const candidate = /^\d/.test(version) ? `v${version}` : version;
  if (candidate.length > MAX_VERSION_LENGTH) {
    throw new UsageError(`version '${version.slice(0, 40)}...' is ${candidate.length} characters long`, `use at most ${MAX_VERSION_LENGTH} characters`, 'invalid_version');
  }
  if (!VERSION_PATTERN.test(candidate)) {
    throw new UsageError(
      `invalid version '${version}'`,
      'use semantic versions like v1.2.0 or v2.0.0-rc.1 (letters, digits and dots after the "-")',
      'invalid_version',
    );
  }
  return candidate;
}

interface Parsed {
  major: number;
  minor: number;
  patch: number;
  pre: string[];
}

function parse(version: string): Parsed {
  const m = VERSION_PATTERN.exec(version);
  if (!m) return { major: -1, minor: -1, patch: -1, pre: [version] };
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre: m[4] ? m[4].split('.') : [] };
}

/** Semantic-version order: 1.2.0-rc.1 < 1.2.0 < 1.10.0. */
export function compareVersions(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  if (x.major !== y.major) return x.major - y.major;
  if (x.minor !== y.minor) return x.minor - y.minor;
  if (x.patch !== y.patch) return x.patch - y.patch;
  if (x.pre.length === 0 || y.pre.length === 0) return y.pre.length - x.pre.length;
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn && Number(p) !== Number(q)) return Number(p) - Number(q);
    if (pn !== qn) return pn ? -1 : 1;
    if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}

/** The next patch version after the highest registered one (v1.0.0 for a new model). */
export function nextPatch(existing: readonly string[]): string {
  const highest = [...existing].sort(compareVersions).pop();
  if (!highest) return 'v1.0.0';
  const { major, minor, patch, pre } = parse(highest);
  // v1.3.0-rc.1 is followed by v1.3.0: a release after its own pre-release.
  return pre.length > 0 ? `v${major}.${minor}.${patch}` : `v${major}.${minor}.${patch + 1}`;
}

export interface ModelRef {
  name: string;
  /** A version, or a stage: production, staging, latest. Undefined when not given. */
  ref?: string;
}

export function parseModelRef(text: string): ModelRef {
  const at = text.indexOf('@');
  if (at < 0) return { name: validateName(text) };
  const name = validateName(text.slice(0, at));
  const ref = text.slice(at + 1);
  if ((STAGE_REFS as readonly string[]).includes(ref)) return { name, ref };
  if (ref === '') throw new UsageError(`'${text}' has nothing after '@'`, 'write NAME@VERSION, NAME@production or NAME@staging');
  return { name, ref: normalizeVersion(ref) };
}

export function isStatus(value: string): value is Status {
  return value === 'staging' || value === 'production' || value === 'archived';
}
