#!/usr/bin/env node
// The varstream command. In the checkout, Node 24 runs the TypeScript sources directly; the packed command
// (scripts/pack-cli.ts) runs its one bundled file and carries the WASI build of the CUE evaluator beside it.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

// The CUE evaluator runs under node:wasi, whose "experimental" warning would open every command's output.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  if (String(warning).startsWith("WASI is an experimental feature")) return;
  emitWarning.call(process, warning, ...rest);
};
const packed = new URL("../dist/main.js", import.meta.url);
if (existsSync(packed)) {
  process.env.VARSTREAM_CUE_DIR ??= fileURLToPath(new URL("../cue", import.meta.url));
  process.env.VARSTREAM_CUE_BACKEND ??= "wasm"; // portable: no native helper in the package
}
const { main } = await import(existsSync(packed) ? packed.href : "../src/main.ts");

process.exitCode = await main(process.argv.slice(2));
