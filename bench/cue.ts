/**
 * bench/cue: the CUE evaluator behind varstream's validation. Prints one JSON line: evaluator load
 * time, bundle load time, schema compile time, and validation p50/p99 for a 20-key and a 1,000-key
 * document. Usage: node bench/cue.ts [ITERATIONS]
 */
import { join } from "node:path";
import { loadCue, WasmCue } from "@varstream/cue";
import { loadBundle } from "@varstream/shared";

const iterations = Number(process.argv[2] ?? 500);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function time(fn: () => void, n: number): { p50: number; p99: number } {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { p50: round(percentile(samples, 50)), p99: round(percentile(samples, 99)) };
}

let t = performance.now();
await WasmCue.load();
const loadMs = performance.now() - t;
const cue = await loadCue();
t = performance.now();
await loadBundle(join(import.meta.dirname, "../examples/bundles/gitlab-multi.cue"));
const bundleMs = performance.now() - t;

const small: Record<string, unknown> = { service: { name: "checkout", port: 8080, debug: false }, db: {} };
const fields = ["service: {name: string, port: int & >0 & <65536, debug: bool}"];
const db = small.db as Record<string, unknown>;
for (let i = 0; i < 17; i++) {
  db[`setting_${i}`] = `value-${i}`;
  fields.push(`db: setting_${i}: string & !=""`);
}
t = performance.now();
const smallSchema = cue.compile(`#Config: {\n${fields.join("\n")}\n}`);
const compileMs = performance.now() - t;
const big: Record<string, unknown> = {};
for (let i = 0; i < 1000; i++) big[`key_${i}`] = i % 2 === 0 ? i : `v${i}`;
const bigSchema = cue.compile('#Config: [=~"^key_"]: int | string');
if (!smallSchema.ok || !bigSchema.ok) throw new Error("schemas do not compile");
if (smallSchema.value.validate(small).length > 0 || bigSchema.value.validate(big).length > 0) {
  throw new Error("bench documents must be valid");
}

console.log(
  JSON.stringify({
    bench: "cue",
    backend: "cuelang.org/go v0.17.1 as a WASI reactor",
    evaluator_load_ms: Math.round(loadMs),
    bundle_load_ms: Math.round(bundleMs),
    schema_compile_ms: Math.round(compileMs * 10) / 10,
    validate_20_keys_ms: time(() => smallSchema.value.validate(small), iterations),
    validate_1000_keys_ms: time(() => bigSchema.value.validate(big), Math.max(20, Math.round(iterations / 10))),
  }),
);
