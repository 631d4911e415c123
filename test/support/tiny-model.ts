import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';

/**
 * A tiny BERT-shaped model written from scratch, in the layout transformers.js
 * loads from the hub: `config.json`, `tokenizer.json` (WordPiece, lower-casing,
 * `[CLS] … [SEP]`), `tokenizer_config.json` and `onnx/model.onnx`, whose one
 * node is `last_hidden_state = Gather(table, input_ids)`: each token's vector
 * is its row of {@link TINY_TABLE}, so a test can compute pooled vectors by hand.
 */
export const TINY_VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  'the',
  'cat',
  'dog',
  'sat',
  'on',
  'mat',
  'tides',
  'moon',
  'query',
  ':',
  'doc',
  '##s',
] as const;
export const TINY_DIMS = 4;
/** Tokens per input, special tokens included (`model_max_length`). */
export const TINY_MAX_TOKENS = 8;

/** The embedding of token `id`: distinct, small integers so sums are exact in float32. */
export function tinyRow(id: number): number[] {
  return Array.from(
    { length: TINY_DIMS },
    (_, d) => ((id * (d + 3) + d * d) % 11) - 5 + (d === 0 ? 0.5 : 0),
  );
}
export const TINY_TABLE = TINY_VOCAB.map((_, id) => tinyRow(id));

/** Token ids as the tokenizer should produce them for lower-cased, space-separated vocabulary words. */
export function tinyIds(text: string): number[] {
  const ids = [2];
  for (const word of text.toLowerCase().match(/[a-z]+|:/g) ?? []) {
    if (TINY_VOCAB.includes(word as (typeof TINY_VOCAB)[number])) {
      ids.push(TINY_VOCAB.indexOf(word as (typeof TINY_VOCAB)[number]));
    } else if (word.endsWith('s') && TINY_VOCAB.includes(word.slice(0, -1) as 'doc')) {
      ids.push(TINY_VOCAB.indexOf(word.slice(0, -1) as 'doc'), TINY_VOCAB.indexOf('##s'));
    } else ids.push(1);
  }
  // transformers.js truncates the whole sequence, end token included.
  return [...ids, 3].slice(0, TINY_MAX_TOKENS);
}

/** What the encoder should return for `text`: mean (or first) of the token rows, optionally L2-normalized. */
export function expectedVector(
  text: string,
  opts: { pooling?: 'mean' | 'cls' | 'last'; normalize?: boolean } = {},
): number[] {
  const ids = tinyIds(text);
  const v =
    opts.pooling === 'cls'
      ? [...TINY_TABLE[ids[0]!]!]
      : opts.pooling === 'last'
        ? [...TINY_TABLE[ids.at(-1)!]!]
        : Array.from(
            { length: TINY_DIMS },
            (_, d) => ids.reduce((s, id) => s + TINY_TABLE[id]![d]!, 0) / ids.length,
          );
  if (opts.normalize === false) return v;
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

const ONNX_PROTO = `
syntax = "proto3";
package onnx;
message AttributeProto { string name = 1; int64 i = 3; int32 type = 20; }
message NodeProto {
  repeated string input = 1; repeated string output = 2; string name = 3; string op_type = 4;
  repeated AttributeProto attribute = 5;
}
message TensorProto { repeated int64 dims = 1; int32 data_type = 2; string name = 8; bytes raw_data = 9; }
message TensorShapeProto { message Dimension { int64 dim_value = 1; string dim_param = 2; } repeated Dimension dim = 1; }
message TypeProto { message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; } Tensor tensor_type = 1; }
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message GraphProto {
  repeated NodeProto node = 1; string name = 2; repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12;
}
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
message ModelProto {
  int64 ir_version = 1; string producer_name = 2; GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
`;

const FLOAT = 1;
const INT64 = 7;

/** The ONNX bytes of the embedding-lookup model. */
export function tinyOnnx(): Uint8Array {
  const root = protobuf.parse(ONNX_PROTO).root;
  const Model = root.lookupType('onnx.ModelProto');
  const table = new Float32Array(TINY_TABLE.flat());
  const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  const value = (name: string, type: number, dims: (number | string)[]) => ({
    name,
    type: { tensorType: { elemType: type, shape: { dim: dims.map(dim) } } },
  });
  const model = {
    irVersion: 8,
    producerName: 'vecfill-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny-embedding-lookup',
      node: [
        {
          opType: 'Gather',
          name: 'lookup',
          input: ['table', 'input_ids'],
          output: ['last_hidden_state'],
          attribute: [{ name: 'axis', i: 0, type: 2 }],
        },
      ],
      initializer: [
        {
          name: 'table',
          dataType: FLOAT,
          dims: [TINY_VOCAB.length, TINY_DIMS],
          rawData: new Uint8Array(table.buffer),
        },
      ],
      input: [
        value('input_ids', INT64, ['batch', 'sequence']),
        value('attention_mask', INT64, ['batch', 'sequence']),
      ],
      output: [value('last_hidden_state', FLOAT, ['batch', 'sequence', TINY_DIMS])],
    },
  };
  const err = Model.verify(model);
  if (err) throw new Error(err);
  return Model.encode(Model.fromObject(model)).finish();
}

/** Writes the tiny model's files into `dir` (created) and returns `dir`. */
export function writeTinyModel(dir: string): string {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const vocab = Object.fromEntries(TINY_VOCAB.map((t, i) => [t, i]));
  const special = (content: string) => ({
    id: TINY_VOCAB.indexOf(content as (typeof TINY_VOCAB)[number]),
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]'].map(special),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      model_max_length: TINY_MAX_TOKENS,
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      pad_token: '[PAD]',
      unk_token: '[UNK]',
    }),
  );
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      model_type: 'bert',
      architectures: ['BertModel'],
      hidden_size: TINY_DIMS,
      vocab_size: TINY_VOCAB.length,
      max_position_embeddings: 64,
      num_hidden_layers: 1,
      num_attention_heads: 1,
    }),
  );
  writeFileSync(join(dir, 'onnx', 'model.onnx'), tinyOnnx());
  return dir;
}
