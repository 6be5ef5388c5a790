export type { CompiledSchema, CueEvaluator, CueProblem, CueResult } from "./evaluator.ts";
export { defaultWasmPath, loadCue, WasmCue } from "./wasm.ts";
