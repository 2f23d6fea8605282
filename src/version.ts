// The mlops package version, read once from package.json (reported by --version, GET /v2,
// and image labels).
import { readFileSync } from 'node:fs';

function read(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export const MLOPS_VERSION = read();
