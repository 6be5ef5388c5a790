import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { type Answer, JsonEvaluator } from "./evaluator.ts";
import { cacheFile } from "./paths.ts";

interface Exports {
  memory: WebAssembly.Memory;
  vs_alloc(n: number): number;
  vs_free(p: number): void;
  vs_call(p: number, n: number): bigint;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * cuelang.org/go compiled to a WASI reactor, instantiated in this process: no process to manage,
 * about 4× slower than the native helper (bench/cue). Calls run synchronously on the JS thread.
 */
export class WasmCue extends JsonEvaluator {
  readonly backend = "wasm";
  private readonly exports: Exports;

  private constructor(exports: Exports) {
    super();
    this.exports = exports;
  }

  static async load(path = cacheFile("current.wasm")): Promise<WasmCue> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new Error(`CUE evaluator not built at ${path} (run bash packages/cue/build.sh): ${(err as Error).message}`);
    }
    const module = await WebAssembly.compile(new Uint8Array(bytes));
    const wasi = new WASI({ version: "preview1", args: [], env: {}, returnOnExit: true });
    const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
    wasi.initialize(instance);
    return new WasmCue(instance.exports as unknown as Exports);
  }

  protected async call(request: object): Promise<Answer> {
    const { exports } = this;
    const bytes = encoder.encode(JSON.stringify(request));
    const p = exports.vs_alloc(bytes.length);
    new Uint8Array(exports.memory.buffer, p, bytes.length).set(bytes);
    const packed = exports.vs_call(p, bytes.length);
    exports.vs_free(p);
    const rp = Number(packed >> 32n);
    const rn = Number(packed & 0xffffffffn);
    const text = decoder.decode(new Uint8Array(exports.memory.buffer, rp, rn));
    exports.vs_free(rp);
    return JSON.parse(text) as Answer;
  }

  close(): void {}
}
