// The block hash used by signatures and verification: xxhash64 from xxhash-wasm, loaded
// once per process.
import type XxhashFactory from 'xxhash-wasm' with { 'resolution-mode': 'import' };
import { type Hash64 } from './blocksig/signature';

// The package ships ESM-only types beside a CommonJS build whose module.exports is the
// factory; our output is CommonJS, so we load that build and borrow the ESM types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const xxhash = require('xxhash-wasm') as typeof XxhashFactory;

type XxhashApi = Awaited<ReturnType<typeof XxhashFactory>>;
let api: Promise<XxhashApi> | undefined;

export function xxhashApi(): Promise<XxhashApi> {
  api ??= xxhash();
  return api;
}

export async function loadHasher(): Promise<{ h64: Hash64 }> {
  const a = await xxhashApi();
  return { h64: (b: Uint8Array) => a.h64Raw(b) };
}
