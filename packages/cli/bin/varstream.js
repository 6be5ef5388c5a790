#!/usr/bin/env node
// The varstream command (Node 24 runs the TypeScript sources directly).
// The CUE evaluator runs under node:wasi, whose "experimental" warning would open every command's output.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  if (String(warning).startsWith("WASI is an experimental feature")) return;
  emitWarning.call(process, warning, ...rest);
};
const { main } = await import("../src/main.ts");

process.exitCode = await main(process.argv.slice(2));
