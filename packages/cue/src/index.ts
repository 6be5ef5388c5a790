import type { CueEvaluator } from "./evaluator.ts";
import { NativeCue } from "./native.ts";
import { WasmCue } from "./wasm.ts";

export type { CompiledSchema, CueEvaluator, CueProblem, CueResult } from "./evaluator.ts";
export { NativeCue } from "./native.ts";
export { WasmCue } from "./wasm.ts";

let shared: Promise<CueEvaluator> | undefined;

/**
 * The process's evaluator, loaded on first use: the native helper by default, the in-process WASI
 * module with VARSTREAM_CUE_BACKEND=wasm.
 */
export function loadCue(): Promise<CueEvaluator> {
  shared ??= process.env.VARSTREAM_CUE_BACKEND === "wasm" ? WasmCue.load() : NativeCue.load();
  return shared;
}
