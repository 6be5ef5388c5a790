import { expect } from "vitest";
import { BundleError, decodeBundle } from "../src/index.ts";

/** Decodes `{bundle: doc}` and expects it refused at `path` for `reason`. */
export function expectRefused(doc: unknown, path: string, reason: RegExp): void {
  try {
    decodeBundle({ bundle: doc });
    expect.unreachable();
  } catch (err) {
    expect(err).toBeInstanceOf(BundleError);
    expect((err as BundleError).path).toBe(path);
    expect((err as BundleError).reason).toMatch(reason);
  }
}
