import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { WASI } from "node:wasi";
import type { CompiledSchema, CueEvaluator, CueProblem, CueResult } from "./evaluator.ts";

interface Exports {
  memory: WebAssembly.Memory;
  vs_alloc(n: number): number;
  vs_free(p: number): void;
  vs_call(p: number, n: number): bigint;
}

interface Answer {
  errors?: CueProblem[];
  value?: unknown;
  has_config?: boolean;
  secret?: string[];
  sensitive?: string[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Where packages/cue/build.sh leaves the module. */
export function defaultWasmPath(): string {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
  return process.env.VARSTREAM_CUE_WASM ?? join(root, ".cache", "cue", "current.wasm");
}

/**
 * cuelang.org/go compiled to a WASI reactor, instantiated once per process. Calls are synchronous
 * (one JS thread), so concurrent callers never interleave inside the evaluator.
 */
export class WasmCue implements CueEvaluator {
  private readonly exports: Exports;
  private readonly schemas = new Map<string, CompiledSchema>();

  private constructor(exports: Exports) {
    this.exports = exports;
  }

  static async load(path = defaultWasmPath()): Promise<WasmCue> {
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

  private call(request: object): Answer {
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

  evaluate(source: string, options: { filename?: string; path?: string } = {}): CueResult<unknown> {
    const answer = this.call({
      op: "evaluate",
      source,
      filename: options.filename ?? "input.cue",
      path: options.path ?? "",
    });
    return answer.errors?.length ? { ok: false, errors: answer.errors } : { ok: true, value: answer.value };
  }

  compile(source: string, filename = "schema.cue"): CueResult<CompiledSchema> {
    const id = createHash("sha256").update(source).digest("hex");
    const known = this.schemas.get(id);
    if (known) return { ok: true, value: known };
    const answer = this.call({ op: "compile", id, source, filename });
    if (answer.errors?.length) return { ok: false, errors: answer.errors };
    const schema: CompiledSchema = {
      id,
      hasConfig: answer.has_config ?? false,
      secret: answer.secret ?? [],
      sensitive: answer.sensitive ?? [],
      validate: (data) => this.call({ op: "validate", id, data }).errors ?? [],
    };
    this.schemas.set(id, schema);
    return { ok: true, value: schema };
  }
}

let shared: Promise<WasmCue> | undefined;

/** The process's evaluator, loaded on first use. */
export function loadCue(): Promise<WasmCue> {
  shared ??= WasmCue.load();
  return shared;
}
