import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { ScanKernels } from './kernels.js';
import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';
import type { WasmMemory } from './wasm-api.js';

/** Which kernel a worker runs. */
export type RangeKernel = 'f32Range' | 'i8Range' | 'binRange';
const KERNEL_CODE: Record<RangeKernel, number> = { f32Range: 0, i8Range: 1, binRange: 2 };

/** A scan shorter than this many bytes of rows stays on the calling thread. */
export const PARALLEL_BYTES = 4 << 20;
/** A helper that has not answered in this long is given up on; the caller scans its part. */
const HELPER_TIMEOUT_MS = 10_000;

// Control words per helper (Int32): 0 job number, 1 job done, 2 memory id,
// 3 kernel, 4 q, 5 base, 6 stride, 7 from, 8 to, 9 out.
const WORDS = 10;

/**
 * The helper's whole program: wait for a job number to move, scan its
 * range of rows with its own instance of the kernels over the same shared
 * memory, say done. Memories arrive over a port read synchronously, so the
 * helper never needs its event loop.
 */
const HELPER = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { ctrl, port, wasm } = workerData;
const module = new WebAssembly.Module(Buffer.from(wasm, 'base64'));
const instances = new Map();
const names = ['f32_range', 'i8_range', 'bin_range'];
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, 0, seen);
  seen = Atomics.load(ctrl, 0);
  for (let m; (m = receiveMessageOnPort(port)); ) {
    const { id, memory } = m.message;
    if (memory) instances.set(id, new WebAssembly.Instance(module, { env: { memory } }).exports);
    else instances.delete(id);
  }
  const e = instances.get(ctrl[2]);
  if (e) e[names[ctrl[3]]](ctrl[4], ctrl[5], ctrl[6], ctrl[7], ctrl[8], ctrl[9]);
  Atomics.store(ctrl, 1, seen);
  Atomics.notify(ctrl, 1);
}
`;

interface Helper {
  worker: Worker;
  port: MessagePort;
  ctrl: Int32Array;
  job: number;
  broken: boolean;
}

/**
 * Worker threads that split a scan of one shared memory with the calling
 * thread, synchronously: the caller hands each helper a range of rows,
 * scans its own range, then waits (`Atomics.wait`, which Node allows on the
 * main thread) for the helpers. On a 2-core machine one helper and the
 * caller scan about twice as fast as one thread.
 */
export class ScanPool {
  readonly #helpers: Helper[] = [];
  readonly #ids = new WeakMap<WasmMemory, number>();
  #nextId = 1;

  constructor(helpers: number) {
    for (let i = 0; i < helpers; i++) {
      const ctrl = new Int32Array(new SharedArrayBuffer(WORDS * 4));
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(HELPER, {
        eval: true,
        workerData: { ctrl, port: port2, wasm: KERNELS_WASM_BASE64 },
        transferList: [port2],
      });
      worker.unref();
      port1.unref();
      const helper: Helper = { worker, port: port1, ctrl, job: 0, broken: false };
      worker.on('error', () => {
        helper.broken = true;
      });
      this.#helpers.push(helper);
    }
  }

  /** Helper threads (the caller scans too). */
  get helpers(): number {
    return this.#helpers.filter((h) => !h.broken).length;
  }

  #idOf(memory: WasmMemory): number {
    let id = this.#ids.get(memory);
    if (id === undefined) {
      id = this.#nextId++;
      this.#ids.set(memory, id);
      for (const h of this.#helpers) h.port.postMessage({ id, memory });
    }
    return id;
  }

  /** Forgets `memory` in every helper (its index was dropped). */
  release(memory: WasmMemory): void {
    const id = this.#ids.get(memory);
    if (id === undefined) return;
    this.#ids.delete(memory);
    for (const h of this.#helpers) h.port.postMessage({ id });
  }

  /** Scores rows [0, n) like `kernels[kernel]`, split across the helpers and the caller. */
  scan(
    memory: WasmMemory,
    kernels: ScanKernels,
    kernel: RangeKernel,
    q: number,
    base: number,
    stride: number,
    n: number,
    out: number,
  ): void {
    const helpers = this.#helpers.filter((h) => !h.broken);
    const parts = helpers.length + 1;
    const per = Math.ceil(n / parts);
    const id = this.#idOf(memory);
    const given: [Helper, number, number][] = [];
    helpers.forEach((h, i) => {
      const from = (i + 1) * per;
      const to = Math.min(n, from + per);
      if (from >= to) return;
      const c = h.ctrl;
      c[2] = id;
      c[3] = KERNEL_CODE[kernel];
      c[4] = q;
      c[5] = base;
      c[6] = stride;
      c[7] = from;
      c[8] = to;
      c[9] = out;
      h.job++;
      Atomics.store(c, 0, h.job);
      Atomics.notify(c, 0);
      given.push([h, from, to]);
    });
    kernels[kernel](q, base, stride, 0, Math.min(n, per), out);
    for (const [h, from, to] of given) {
      const deadline = Date.now() + HELPER_TIMEOUT_MS;
      for (;;) {
        const done = Atomics.load(h.ctrl, 1);
        if (done === h.job) break;
        if (Date.now() > deadline) {
          // A stuck or dead helper: leave it out from now on, scan its part here.
          h.broken = true;
          void h.worker.terminate();
          kernels[kernel](q, base, stride, from, to, out);
          break;
        }
        Atomics.wait(h.ctrl, 1, done, 50);
      }
    }
  }
}

let shared: ScanPool | null | undefined;

/** The process's scan helpers if they were started, without starting them. */
export function startedScanPool(): ScanPool | null {
  return shared ?? null;
}

/**
 * The process's scan helpers: one fewer than the cores available, at most
 * 3; none on one core or with `VECFILL_SCAN_THREADS=1` (the number of
 * threads that scan, the caller included).
 */
export function scanPool(): ScanPool | null {
  if (shared === undefined) {
    const asked = Number(process.env.VECFILL_SCAN_THREADS);
    const threads =
      Number.isInteger(asked) && asked >= 1 ? asked : Math.min(4, availableParallelism());
    shared = threads > 1 ? new ScanPool(threads - 1) : null;
  }
  return shared;
}
