// Conformance of the binary tensor data extension: request bodies laid out byte by byte as
// tritonclient.http builds them (rapidjson's compact JSON, then each input's
// numpy tobytes() / serialize_byte_tensor bytes), and answers read back the way its
// InferResult does (header length, then binary_data_size slices in output order).
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/serve/http.js';
import { checkInferContentType, decodeInferInputs, encodeInferAnswer, splitInferBody } from '../../src/serve/v2-binary.js';
import { floatToHalf, halfToFloat } from '../../src/serve/tensors.js';
import { modelInputs, requestedOutputs, type ModelShape } from '../../src/serve/v2-tensors.js';

/** What the Python client sends: the JSON text, then the raw bytes; the header gives the JSON's length. */
function tritonBody(json: string, ...tensors: number[][]): { body: Buffer; headerLength: string } {
  const jsonBytes = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([jsonBytes, ...tensors.map((bytes) => Buffer.from(bytes))]), headerLength: String(jsonBytes.length) };
}

/** numpy float32 tobytes(): IEEE single, little-endian, written out here byte by byte. */
const FP32 = {
  '0': [0x00, 0x00, 0x00, 0x00],
  '1': [0x00, 0x00, 0x80, 0x3f],
  '-2': [0x00, 0x00, 0x00, 0xc0],
  '0.5': [0x00, 0x00, 0x00, 0x3f],
  '3': [0x00, 0x00, 0x40, 0x40],
} as const;

const fraud: ModelShape = {
  name: 'fraud',
  version: 'v1.0.0',
  signature: {
    inputs: [{ name: 'features', type: 'float32', shape: ['batch', 10] }],
    outputs: [
      { name: 'label', type: 'int64', shape: ['batch'] },
      { name: 'probabilities', type: 'float32', shape: ['batch', 2] },
    ],
  },
};

const decode = (body: Buffer, headerLength?: string) => {
  const { header, binary } = splitInferBody(body, headerLength);
  return { header, inputs: decodeInferInputs(header, binary) };
};

function status(fn: () => unknown): { status: number; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return { status: error.status, message: error.message };
    throw error;
  }
  throw new Error('expected an HttpError');
}

describe('binary tensor data extension: requests as tritonclient.http lays them out', () => {
  it('decodes one FP32 row sent with binary_data=True and the request-level binary_data_output', () => {
    const row = [FP32['1'], FP32['-2'], FP32['0.5'], FP32['3'], FP32['0'], FP32['0'], FP32['0'], FP32['0'], FP32['0'], FP32['1']].flat();
    const { body, headerLength } = tritonBody(
      '{"id":"req-1","inputs":[{"name":"features","shape":[1,10],"datatype":"FP32","parameters":{"binary_data_size":40}}],"parameters":{"binary_data_output":true}}',
      row,
    );
    const { header, inputs } = decode(body, headerLength);
    expect(header.id).toBe('req-1');
    expect(inputs).toHaveLength(1);
    expect(inputs[0]!.datatype).toBe('FP32');
    expect(inputs[0]!.shape).toEqual([1, 10]);
    expect([...(inputs[0]!.data as Float32Array)]).toEqual([1, -2, 0.5, 3, 0, 0, 0, 0, 0, 1]);
    const feeds = modelInputs(fraud, inputs);
    expect(feeds.get('features')!.data).toBeInstanceOf(Float32Array);
    expect(requestedOutputs(header.outputs, header.parameters as Record<string, unknown>, ['label', 'probabilities'], 'fraud')).toEqual([
      { name: 'label', binary: true },
      { name: 'probabilities', binary: true },
    ]);
  });

  it('decodes the two inputs of the spec example (UINT32 [2,2], BOOL [3]) in order, 19 bytes', () => {
    const { body, headerLength } = tritonBody(
      '{"inputs":[{"name":"input0","shape":[2,2],"datatype":"UINT32","parameters":{"binary_data_size":16}},{"name":"input1","shape":[3],"datatype":"BOOL","parameters":{"binary_data_size":3}}],"outputs":[{"name":"output0","parameters":{"binary_data":true}}]}',
      [0x01, 0, 0, 0, 0x02, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0, 0],
      [0x01, 0x00, 0x01],
    );
    const { inputs } = decode(body, headerLength);
    expect([...(inputs[0]!.data as Uint32Array)]).toEqual([1, 2, 4294967295, 256]);
    expect([...(inputs[1]!.data as Uint8Array)]).toEqual([1, 0, 1]);
  });

  it('mixes a JSON input and a binary input (binary_data=False on one of them)', () => {
    const { body, headerLength } = tritonBody(
      '{"inputs":[{"name":"a","shape":[1,2],"datatype":"FP32","data":[1.5,2.5]},{"name":"b","shape":[1,2],"datatype":"INT64","parameters":{"binary_data_size":16}}]}',
      [0x07, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    );
    const { inputs } = decode(body, headerLength);
    expect([...(inputs[0]!.data as Float32Array)]).toEqual([1.5, 2.5]);
    expect([...(inputs[1]!.data as BigInt64Array)]).toEqual([7n, -1n]);
  });

  it('decodes BYTES: a 4-byte little-endian length before each element (serialize_byte_tensor)', () => {
    const { body, headerLength } = tritonBody(
      '{"inputs":[{"name":"text","shape":[3],"datatype":"BYTES","parameters":{"binary_data_size":22}}]}',
      [0x03, 0, 0, 0, 0x61, 0x62, 0x63, 0x00, 0, 0, 0, 0x07, 0, 0, 0, 0x63, 0x61, 0x66, 0xc3, 0xa9, 0x21, 0x3f],
    );
    const { inputs } = decode(body, headerLength);
    expect(inputs[0]!.data).toEqual(['abc', '', 'café!?']);
  });

  it('decodes FP16 bits (numpy float16 tobytes) and widens them for a float32 model', () => {
    // 1.0 = 0x3c00, -2.0 = 0xc000, 0.5 = 0x3800, 65504 = 0x7bff, 2^-24 = 0x0001 (subnormal)
    const halves = [0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
    const { body, headerLength } = tritonBody('{"inputs":[{"name":"features","shape":[1,10],"datatype":"FP16","parameters":{"binary_data_size":20}}]}', halves);
    const { inputs } = decode(body, headerLength);
    expect([...(inputs[0]!.data as Uint16Array)].slice(0, 5)).toEqual([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001]);
    const feeds = modelInputs(fraud, inputs);
    expect([...(feeds.get('features')!.data as Float32Array)].slice(0, 5)).toEqual([1, -2, 0.5, 65504, 2 ** -24]);
  });

  it('takes FP16 and BYTES as JSON too (numbers and strings)', () => {
    const { inputs } = decode(Buffer.from('{"inputs":[{"name":"h","shape":[2],"datatype":"FP16","data":[1,-0.5]},{"name":"s","shape":[2],"datatype":"BYTES","data":["x","yz"]}]}'));
    expect([...(inputs[0]!.data as Uint16Array)]).toEqual([0x3c00, 0xb800]);
    expect(inputs[1]!.data).toEqual(['x', 'yz']);
    expect(status(() => decode(Buffer.from('{"inputs":[{"name":"h","shape":[1],"datatype":"FP16","data":[70000]}]}'))).message).toMatch(/FP16 range/);
    expect(status(() => decode(Buffer.from('{"inputs":[{"name":"s","shape":[1],"datatype":"BYTES","data":[5]}]}'))).message).toMatch(/not a string/);
  });

  it('accepts the header length with surrounding whitespace, and no header at all for JSON-only bodies', () => {
    const json = '{"inputs":[{"name":"features","shape":[1,10],"datatype":"FP32","data":[0,0,0,0,0,0,0,0,0,0]}]}';
    expect(decode(Buffer.from(json)).inputs[0]!.shape).toEqual([1, 10]);
    expect(decode(Buffer.from(json), ` ${json.length} `).inputs[0]!.shape).toEqual([1, 10]);
  });
});

describe('binary tensor data extension: bad requests are 400s that say what is wrong', () => {
  const header = '{"inputs":[{"name":"features","shape":[1,10],"datatype":"FP32","parameters":{"binary_data_size":40}}]}';
  const row = new Array(40).fill(0);

  it('refuses a binary size that does not match the shape', () => {
    const { body, headerLength } = tritonBody(header.replace('40', '36'), row.slice(0, 36));
    expect(status(() => decode(body, headerLength)).message).toMatch(/36 bytes of FP32 data, the shape needs 10 x 4 = 40/);
  });

  it('refuses bytes left over, and sizes that run past the body', () => {
    const extra = tritonBody(header, [...row, 1, 2]);
    expect(status(() => decode(extra.body, extra.headerLength)).message).toMatch(/42 bytes follow the JSON header, but the inputs' binary_data_size add up to 40/);
    const short = tritonBody(header, row.slice(0, 20));
    expect(status(() => decode(short.body, short.headerLength)).message).toMatch(/runs past the 20 bytes/);
  });

  it('refuses binary data without the header-length header, and header lengths that are not the JSON', () => {
    const { body, headerLength } = tritonBody(header, row);
    expect(status(() => decode(body)).message).toMatch(/Inference-Header-Content-Length/);
    for (const bad of ['0', '-5', 'abc', String(body.length + 1), '1e3']) expect(status(() => decode(body, bad)).status).toBe(400);
    expect(status(() => decode(body, String(Number(headerLength) - 1))).message).toMatch(/not valid JSON/);
    expect(status(() => decode(Buffer.from(header))).message).toMatch(/no binary data follows the JSON/);
  });

  it('refuses NaN in binary FP32, truncated BYTES, data plus binary_data_size, shared memory and classification', () => {
    const nan = tritonBody('{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}]}', [0x00, 0x00, 0xc0, 0x7f]);
    expect(status(() => decode(nan.body, nan.headerLength)).message).toMatch(/finite/);
    const truncated = tritonBody('{"inputs":[{"name":"s","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":5}}]}', [0x09, 0, 0, 0, 0x61]);
    expect(status(() => decode(truncated.body, truncated.headerLength)).message).toMatch(/claims 9 bytes, only 1 remain/);
    const both = tritonBody('{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1],"parameters":{"binary_data_size":4}}]}', FP32['1'] as unknown as number[]);
    expect(status(() => decode(both.body, both.headerLength)).message).toMatch(/both "data" and "binary_data_size"/);
    expect(status(() => decode(Buffer.from('{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","parameters":{"shared_memory_region":"r"}}]}'))).message).toMatch(/shared memory extension is not supported/);
    expect(status(() => requestedOutputs([{ name: 'label', parameters: { classification: 2 } }], undefined, ['label'], 'fraud')).message).toMatch(/classification extension is not supported/);
  });

  it('checks content types: JSON, none, or octet-stream; compressed bodies are 415', () => {
    expect(() => checkInferContentType(undefined, undefined)).not.toThrow();
    expect(() => checkInferContentType('application/octet-stream', undefined)).not.toThrow();
    expect(() => checkInferContentType('application/json; charset=utf-8', undefined)).not.toThrow();
    expect(status(() => checkInferContentType('text/plain', undefined)).status).toBe(415);
    expect(status(() => checkInferContentType(undefined, 'gzip')).status).toBe(415);
  });
});

describe('binary tensor data extension: answers as InferResult reads them', () => {
  const label = { type: 'int64', dims: [2], data: BigInt64Array.from([0n, 1n]) };
  const probabilities = { type: 'float32', dims: [2, 2], data: Float32Array.from([0.75, 0.25, 0.5, 0.5]) };

  it('puts binary outputs after the JSON, in output order, with binary_data_size and the header length', () => {
    const answer = encodeInferAnswer({ model_name: 'fraud', model_version: 'v1.0.0', id: 'r' }, [
      { name: 'label', tensor: label, binary: true },
      { name: 'probabilities', tensor: probabilities, binary: false },
      { name: 'copy', tensor: { type: 'float16', dims: [2], data: Uint16Array.from([0x3c00, 0xc000]) }, binary: true },
      { name: 'text', tensor: { type: 'string', dims: [2], data: ['ab', ''] }, binary: true },
    ]);
    expect(answer.contentType).toBe('application/octet-stream');
    const headerLength = answer.headerLength!;
    const result = JSON.parse(answer.body.subarray(0, headerLength).toString('utf8'));
    expect(result.model_name).toBe('fraud');
    const buffer = answer.body.subarray(headerLength);
    // InferResult: walk the outputs, binary ones take consecutive slices.
    const slices = new Map<string, Buffer>();
    let index = 0;
    for (const output of result.outputs) {
      const size = output.parameters?.binary_data_size;
      if (size === undefined) continue;
      slices.set(output.name, buffer.subarray(index, index + size));
      index += size;
    }
    expect(index).toBe(buffer.length);
    expect(result.outputs[0]).toEqual({ name: 'label', datatype: 'INT64', shape: [2], parameters: { binary_data_size: 16 } });
    expect([...slices.get('label')!]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(result.outputs[1]).toEqual({ name: 'probabilities', datatype: 'FP32', shape: [2, 2], data: [0.75, 0.25, 0.5, 0.5] });
    expect(result.outputs[2].datatype).toBe('FP16');
    expect([...slices.get('copy')!]).toEqual([0x00, 0x3c, 0x00, 0xc0]);
    expect(result.outputs[3].datatype).toBe('BYTES');
    expect([...slices.get('text')!]).toEqual([0x02, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0]);
  });

  it('answers plain JSON (no header length) when no output is binary; FP16 becomes numbers', () => {
    const answer = encodeInferAnswer({ model_name: 'm' }, [{ name: 'h', tensor: { type: 'float16', dims: [2], data: Uint16Array.from([0x3c00, 0x3555]) }, binary: false }]);
    expect(answer.headerLength).toBeUndefined();
    expect(answer.contentType).toBe('application/json');
    const data = JSON.parse(answer.body.toString()).outputs[0].data;
    expect(data[0]).toBe(1);
    expect(data[1]).toBeCloseTo(1 / 3, 3);
  });

  it('binary_data on an output overrides the request-level binary_data_output', () => {
    expect(requestedOutputs([{ name: 'label', parameters: { binary_data: false } }, { name: 'probabilities' }], { binary_data_output: true }, ['label', 'probabilities'], 'fraud')).toEqual([
      { name: 'label', binary: false },
      { name: 'probabilities', binary: true },
    ]);
    expect(requestedOutputs(undefined, undefined, ['label'], 'fraud')).toEqual([{ name: 'label', binary: false }]);
  });
});

describe('FP16 conversion', () => {
  it('matches IEEE 754 half bits, rounding to nearest even', () => {
    const cases: Array<[number, number]> = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [2 ** -24, 0x0001],
      [2 ** -14, 0x0400],
      [0.1, 0x2e66],
      [2049, 0x6800],
      [2051, 0x6802],
      [1e6, 0x7c00],
      [Number.NEGATIVE_INFINITY, 0xfc00],
    ];
    for (const [value, bits] of cases) expect(floatToHalf(value), String(value)).toBe(bits);
    expect(Number.isNaN(halfToFloat(floatToHalf(Number.NaN)))).toBe(true);
    for (let bits = 0; bits < 0x7c00; bits += 37) expect(floatToHalf(halfToFloat(bits))).toBe(bits);
  });
});
