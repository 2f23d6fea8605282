// readRecords: the one reader of CSV / JSON-lines rows, shared by drift-check and register.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from '../../src/drift/records.ts';
import { prepareReference } from '../../src/registry/reference.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'drift-records-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function all(path: string): Promise<Array<{ line: number; fields: string[] }>> {
  const out = [];
  for await (const record of readRecords(path, 'reference', 'reference-data')) out.push(record);
  return out;
}

describe('readRecords', () => {
  it('reads a TSV, a semicolon CSV with quotes, and gzip, header first', async () => {
    const tsv = join(dir, 'a.tsv');
    await writeFile(tsv, 'x\ty\n1\t2\n3\t\n');
    expect(await all(tsv)).toEqual([
      { line: 1, fields: ['x', 'y'] },
      { line: 2, fields: ['1', '2'] },
      { line: 3, fields: ['3', ''] },
    ]);
    const semi = join(dir, 'b.csv.gz');
    await writeFile(semi, gzipSync('name;v\n"a;b";1\n"say ""hi""\nthere";2\n'));
    const rows = await all(semi);
    expect(rows.map((r) => r.fields)).toEqual([['name', 'v'], ['a;b', '1'], ['say "hi"\nthere', '2']]);
    expect(rows[2]!.line).toBe(3); // the line the record starts on
  });

  it('reads JSON lines in the order of the first-seen keys', async () => {
    const path = join(dir, 'c.jsonl');
    await writeFile(path, '{"a":1,"b":"x"}\n{"b":"y","a":2.5}\n{"a":null,"b":"z"}\n');
    expect((await all(path)).map((r) => r.fields)).toEqual([['a', 'b'], ['1', 'x'], ['2.5', 'y'], ['', 'z']]);
  });

  it('streams a file larger than one chunk', async () => {
    const path = join(dir, 'big.csv');
    const lines = ['i,v'];
    for (let i = 0; i < 60_000; i++) lines.push(`${i},${i * 0.5}`);
    await writeFile(path, lines.join('\n') + '\n');
    const rows = await all(path);
    expect(rows).toHaveLength(60_001);
    expect(rows[60_000]!.fields).toEqual(['59999', '29999.5']);
  });

  it('names the file and its flag in errors', async () => {
    const path = join(dir, 'bad.csv');
    await writeFile(path, 'x,y\n1,2\n3\n');
    await expect(all(path)).rejects.toThrow(/reference data .*bad\.csv line 3 has 1 fields, the header has 2/);
    await expect(all(join(dir, 'missing.csv'))).rejects.toMatchObject({ hint: 'check the --reference-data path' });
  });
});

describe('prepareReference reads what drift-check reads', () => {
  it('accepts a tab-separated file (it split on commas only before)', async () => {
    const path = join(dir, 'ref.tsv');
    await writeFile(path, 'a\tb\n1\t10\n2\t20\n3\t30\n');
    const prepared = await prepareReference(path, { expectedWidth: 2 });
    expect(prepared.rows).toBe(3);
    expect(prepared.columns.map((c) => [c.name, c.min, c.max])).toEqual([
      ['a', 1, 3],
      ['b', 10, 30],
    ]);
  });

  it('still refuses non-numbers and a wrong width, naming the line', async () => {
    const path = join(dir, 'ref2.csv');
    await writeFile(path, 'a,b\n1,2\n3,x\n');
    await expect(prepareReference(path, {})).rejects.toThrow(/line 3, column 'b': 'x' is not a number/);
    await expect(prepareReference(path, { expectedWidth: 3 })).rejects.toThrow(/has 2 columns but the model takes 3/);
  });
});
