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
/** Rows are handed out in blocks of about this many bytes. */
const BLOCK_BYTES = 1 << 20;
/** A helper that has not finished its block in this long is given up on; the caller scans alone. */
const HELPER_TIMEOUT_MS = 10_000;

// Control words, shared by the caller and every helper (Int32):
const GEN = 0; // job number: helpers wait for it to move
const NEXT = 1; // (job tag << 16) | next unclaimed block
const FINISHED = 2; // blocks scanned
const MEMORY = 3; // memory id
const KERNEL = 4;
const Q = 5;
const BASE = 6;
const STRIDE = 7;
const ROWS = 8;
const OUT = 9;
const PER = 10; // rows per block
const BLOCKS = 11;
const WORDS = 12;
/** Blocks per job: the low 16 bits of NEXT. */
const MAX_BLOCKS = 0xffff;

/**
 * The helpers' whole program: wait for the job number to move, then claim
 * blocks of rows one at a time (compare-and-swap on NEXT, whose high bits
 * name the job, so a helper that wakes late claims nothing of a job
 * already done) and scan each with its own instance of the kernels over
 * the same shared memory. A claimed block's job cannot finish before the
 * block does, so its parameters are read after the claim. Memories arrive
 * over a port read synchronously: the helper never needs its event loop.
 */
const HELPER = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { ctrl, port, wasm } = workerData;
const module = new WebAssembly.Module(Buffer.from(wasm, 'base64'));
const instances = new Map();
const names = ['f32_range', 'i8_range', 'bin_range'];
const drain = () => {
  for (let m; (m = receiveMessageOnPort(port)); ) {
    const { id, memory } = m.message;
    if (memory) instances.set(id, new WebAssembly.Instance(module, { env: { memory } }).exports);
    else instances.delete(id);
  }
};
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, ${GEN}, seen);
  seen = Atomics.load(ctrl, ${GEN});
  drain();
  const tag = seen & 0x7fff;
  for (;;) {
    const w = Atomics.load(ctrl, ${NEXT});
    const b = w & 0xffff;
    if (w >>> 16 !== tag || b >= Atomics.load(ctrl, ${BLOCKS})) break;
    if (Atomics.compareExchange(ctrl, ${NEXT}, w, w + 1) !== w) continue;
    let e = instances.get(ctrl[${MEMORY}]);
    if (!e) { drain(); e = instances.get(ctrl[${MEMORY}]); }
    const blocks = ctrl[${BLOCKS}];
    if (!e || b >= blocks) continue;
    const per = ctrl[${PER}];
    const from = b * per;
    e[names[ctrl[${KERNEL}]]](ctrl[${Q}], ctrl[${BASE}], ctrl[${STRIDE}], from, Math.min(ctrl[${ROWS}], from + per), ctrl[${OUT}]);
    if (Atomics.add(ctrl, ${FINISHED}, 1) + 1 === blocks) Atomics.notify(ctrl, ${FINISHED});
  }
}
`;

interface Helper {
  worker: Worker;
  port: MessagePort;
}

/**
 * Worker threads that share a scan of one shared memory with the calling
 * thread, synchronously: the rows are cut into blocks of about 1 MiB, and
 * the caller and the helpers each claim the next unclaimed block until
 * none is left; then the caller waits (`Atomics.wait`, which Node allows on
 * the main thread) for blocks still being scanned. A helper that is slow
 * to be scheduled (a busy machine) costs at most the block it is scanning,
 * not a fixed share of the rows. On a 2-core machine one helper and the
 * caller scan about twice as fast as one thread.
 */
export class ScanPool {
  readonly #helpers: Helper[] = [];
  readonly #ctrl = new Int32Array(new SharedArrayBuffer(WORDS * 4));
  readonly #ids = new WeakMap<WasmMemory, number>();
  #nextId = 1;
  #job = 0;
  #broken = false;

  constructor(helpers: number) {
    for (let i = 0; i < helpers; i++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(HELPER, {
        eval: true,
        workerData: { ctrl: this.#ctrl, port: port2, wasm: KERNELS_WASM_BASE64 },
        transferList: [port2],
      });
      worker.unref();
      port1.unref();
      worker.on('error', () => {
        this.#broken = true;
      });
      this.#helpers.push({ worker, port: port1 });
    }
  }

  /** Helper threads (the caller scans too); 0 once one failed. */
  get helpers(): number {
    return this.#broken ? 0 : this.#helpers.length;
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

  /** Scores rows [0, n) like `kernels[kernel]`, shared by the helpers and the caller. */
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
    if (this.#broken || n === 0) {
      kernels[kernel](q, base, stride, 0, n, out);
      return;
    }
    const rowBytes = kernel === 'f32Range' ? stride * 4 : stride;
    const wanted = Math.min(MAX_BLOCKS, Math.max(2, Math.ceil((n * rowBytes) / BLOCK_BYTES)));
    const per = Math.ceil(n / wanted);
    const blocks = Math.ceil(n / per);
    const c = this.#ctrl;
    const job = ++this.#job;
    const tag = job & 0x7fff;
    Atomics.store(c, FINISHED, 0);
    c[MEMORY] = this.#idOf(memory);
    c[KERNEL] = KERNEL_CODE[kernel];
    c[Q] = q;
    c[BASE] = base;
    c[STRIDE] = stride;
    c[ROWS] = n;
    c[OUT] = out;
    c[PER] = per;
    c[BLOCKS] = blocks;
    Atomics.store(c, NEXT, tag << 16);
    Atomics.store(c, GEN, job);
    Atomics.notify(c, GEN);
    for (;;) {
      const w = Atomics.load(c, NEXT);
      const b = w & 0xffff;
      if (b >= blocks) break;
      if (Atomics.compareExchange(c, NEXT, w, w + 1) !== w) continue;
      kernels[kernel](q, base, stride, b * per, Math.min(n, (b + 1) * per), out);
      Atomics.add(c, FINISHED, 1);
    }
    const deadline = Date.now() + HELPER_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(c, FINISHED);
      if (done >= blocks) return;
      if (Date.now() > deadline) {
        // A stuck or dead helper: stop using helpers and scan everything here.
        this.#broken = true;
        for (const h of this.#helpers) void h.worker.terminate();
        kernels[kernel](q, base, stride, 0, n, out);
        return;
      }
      Atomics.wait(c, FINISHED, done, 50);
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
