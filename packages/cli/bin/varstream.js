#!/usr/bin/env node
// The varstream command (Node 24 runs the TypeScript sources directly).
import { main } from "../src/main.ts";

process.exitCode = await main(process.argv.slice(2));
