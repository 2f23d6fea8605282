// predict's column mapping: by recorded names when the file has a header, by position otherwise.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { looksLikeData, mapColumns } from '../../src/predict/columns.js';

const names = ['amount', 'hour', 'risk'];

describe('mapColumns', () => {
  it('maps by name in any order', () => {
    const mapping = mapColumns(['risk', 'amount', 'hour'], names, 3, 'input data x.csv', 'csv');
    expect(mapping.by).toBe('names');
    expect([...mapping.fieldOf]).toEqual([1, 2, 0]);
    expect(mapping.headerIsData).toBe(false);
  });

  it('takes a first line of numbers as data, by position', () => {
    const mapping = mapColumns(['1.5', '3', '-2e-3'], names, 3, 'input data x.csv', 'csv');
    expect(mapping).toMatchObject({ by: 'position', headerIsData: true });
    expect([...mapping.fieldOf]).toEqual([0, 1, 2]);
    // JSON lines keys are never data, even when they look like numbers.
    expect(() => mapColumns(['1', '2', '3'], names, 3, 'input data x.jsonl', 'jsonl')).toThrow(/has no column 'amount'/);
  });

  it('reads by position when the model recorded no names, and checks the width', () => {
    expect(mapColumns(['a', 'b', 'c'], undefined, 3, 'input data x.csv', 'csv').by).toBe('position');
    expect(() => mapColumns(['a', 'b'], undefined, 3, 'input data x.csv', 'csv')).toThrow(/has 2 columns; the model takes 3/);
  });

  it('names the missing and the unknown column, exit 2', () => {
    const missing = (() => {
      try {
        mapColumns(['amount', 'hour'], names, 3, 'input data x.csv', 'csv');
      } catch (error) {
        return error;
      }
    })();
    expect(missing).toBeInstanceOf(UsageError);
    expect((missing as UsageError).message).toBe("input data x.csv has no column 'risk'");
    expect((missing as UsageError).exitCode).toBe(2);
    expect(() => mapColumns([...names, 'id'], names, 3, 'input data x.csv', 'csv')).toThrow("input data x.csv has column 'id', which the model does not take");
  });

  it('looksLikeData needs every field to be a number', () => {
    expect(looksLikeData(['1', '2'])).toBe(true);
    expect(looksLikeData(['1', ''])).toBe(false);
    expect(looksLikeData(['1', 'NA'])).toBe(false);
    expect(looksLikeData(['amount'])).toBe(false);
  });
});
