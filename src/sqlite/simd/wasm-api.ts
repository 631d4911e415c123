/**
 * The few WebAssembly JavaScript API members the kernels use, typed here:
 * the project's TypeScript settings (ES2023 library, Node 20 types) do not
 * declare the `WebAssembly` global.
 */

export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}

// biome-ignore lint/suspicious/noEmptyInterface: an opaque compiled module
export interface WasmModule {}

interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (
    module: WasmModule,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum: number; shared: true }) => WasmMemory;
}

export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
