// isPlainObject, the one "is this a mapping" check, and a reader that relies on it.
import { describe, expect, it } from 'vitest';
import { isPlainObject } from '../../src/plain-object.js';
import { kubectlCommands, parseJson } from '../../src/tools/kubectl.js';

describe('isPlainObject', () => {
  it('accepts JSON objects and YAML mappings, nothing else', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject({ a: 1 })).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    for (const value of [null, undefined, [], [{}], 'a', 1, true]) expect(isPlainObject(value)).toBe(false);
  });

  it('kubectl -o json output must be an object, not an array or null', () => {
    const command = kubectlCommands.getService({ kubectl: 'kubectl', namespace: 'ml' }, 'x');
    expect(parseJson('{"kind":"Service"}', command)).toEqual({ kind: 'Service' });
    for (const stdout of ['[]', 'null', '"Service"']) expect(() => parseJson(stdout, command)).toThrow(/not a JSON object/);
  });
});
