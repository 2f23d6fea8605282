// --workers defaults to the cores a container may use (cgroup v2 cpu.max), not the node's.
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { coresFromCpuMax, usableCores } from '../../src/serve/cpus.js';
import { tempDir } from '../support/cli.js';

describe('usable cores', () => {
  it('reads a cgroup v2 quota, rounding up', () => {
    expect(coresFromCpuMax('max 100000\n')).toBeUndefined();
    expect(coresFromCpuMax('200000 100000\n')).toBe(2);
    expect(coresFromCpuMax('150000 100000')).toBe(2);
    expect(coresFromCpuMax('25000 100000')).toBe(1);
    expect(coresFromCpuMax('garbage')).toBeUndefined();
  });

  it('caps the machine cores by the quota file, and ignores a missing one', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const file = join(dir, 'cpu.max');
      await writeFile(file, '100000 100000\n');
      expect(usableCores(file)).toBe(1);
      await writeFile(file, 'max 100000\n');
      expect(usableCores(file)).toBe(availableParallelism());
      expect(usableCores(join(dir, 'missing'))).toBe(availableParallelism());
    } finally {
      await cleanup();
    }
  });
});
