/**
 * bench/cue: the CUE evaluator behind varstream's validation, both backends. Prints one JSON line:
 * bundle load time, and per backend its load time, a schema's compile time and validation p50/p99
 * for a 20-key and a 1,000-key document. Usage: node bench/cue.ts [ITERATIONS]
 */
import { join } from "node:path";
import { loadBundle } from "@varstream/bundle";
import { type CueEvaluator, NativeCue, WasmCue } from "@varstream/cue";

const iterations = Number(process.argv[2] ?? 500);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function time(fn: () => Promise<unknown>, n: number): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { p50: round(percentile(samples, 50)), p99: round(percentile(samples, 99)) };
}

async function measure(name: string, load: () => Promise<CueEvaluator>) {
  let t = performance.now();
  const cue = await load();
  const loadMs = performance.now() - t;
  const small: Record<string, unknown> = { service: { name: "checkout", port: 8080, debug: false }, db: {} };
  const fields = ["service: {name: string, port: int & >0 & <65536, debug: bool}"];
  const db = small.db as Record<string, unknown>;
  for (let i = 0; i < 17; i++) {
    db[`setting_${i}`] = `value-${i}`;
    fields.push(`db: setting_${i}: string & !=""`);
  }
  t = performance.now();
  const smallSchema = await cue.compile(`#Config: {\n${fields.join("\n")}\n}`);
  const compileMs = performance.now() - t;
  const big: Record<string, unknown> = {};
  const bigFields: string[] = [];
  for (let i = 0; i < 1000; i++) {
    big[`key_${i}`] = i % 2 === 0 ? i : `v${i}`;
    bigFields.push(`key_${i}: ${i % 2 === 0 ? "int & >=0" : "string"}`);
  }
  const bigSchema = await cue.compile(`#Config: {\n${bigFields.join("\n")}\n}`);
  if (!smallSchema.ok || !bigSchema.ok) throw new Error("schemas do not compile");
  if ((await smallSchema.value.validate(small)).length > 0 || (await bigSchema.value.validate(big)).length > 0) {
    throw new Error("bench documents must be valid");
  }
  const result = {
    backend: name,
    load_ms: Math.round(loadMs),
    schema_compile_ms: Math.round(compileMs * 10) / 10,
    validate_20_keys_ms: await time(() => smallSchema.value.validate(small), iterations),
    validate_1000_keys_ms: await time(() => bigSchema.value.validate(big), Math.max(20, Math.round(iterations / 10))),
  };
  cue.close();
  return result;
}

const t = performance.now();
await loadBundle(join(import.meta.dirname, "../examples/bundles/gitlab-multi.cue"));
const bundleMs = performance.now() - t;
console.log(
  JSON.stringify({
    bench: "cue",
    cue: "cuelang.org/go v0.17.1",
    bundle_load_ms: Math.round(bundleMs),
    native: await measure("native helper (stdio)", () => NativeCue.load()),
    wasm: await measure("WASI module (in-process)", () => WasmCue.load()),
  }),
);
