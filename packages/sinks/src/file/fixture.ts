import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canonicalText, type Scope, scopeKey } from "@varstream/shared";
import type { SinkFixture, StoreView } from "../fixture.ts";
import { FORMATS } from "./formats.ts";

type Format = keyof typeof FORMATS;

/**
 * A view of file sink files in `dir` (also the ssh sink's: its remote folder is a local one in tests):
 * read and planted the way a user editing the file would, manifests read from `.varstream/`.
 */
export function fileView(dir: string, format: Format, show: (d: string, text: string) => string): StoreView {
  const { ext, read, render } = FORMATS[format];
  const path = (d: string) => join(dir, `${d}.${ext}`);
  // A destination whose last key went is no file at all (the sink removes it): nothing in it.
  const data = async (d: string) => {
    const text = await readFile(path(d), "utf8").catch(() => undefined);
    return text === undefined ? {} : read(text);
  };
  return {
    read: async (d) => Object.fromEntries(Object.entries(await data(d)).map(([k, v]) => [k, canonicalText(v)])),
    plant: async (d, k, v) => void (await writeFile(path(d), render({ ...(await data(d)), [k]: v }))),
    manifestTask: async (scope: Scope) => {
      const text = await readFile(join(dir, ".varstream", `${scope.destination}.manifest.json`), "utf8").catch(
        () => undefined,
      );
      if (text === undefined) return undefined;
      return (JSON.parse(text) as { scopes: Record<string, { task_id: string }> }).scopes[scopeKey(scope)]?.task_id;
    },
    show: async (d) => show(d, await readFile(path(d), "utf8")),
  };
}

/** A temp folder of its own per store; no server, so no outage to cut. */
export const fixture: SinkFixture = {
  variants: { json: { format: "json" }, env: { format: "env" } },
  async open(options = {}) {
    const format = (options.variant ?? "json") as Format;
    const dir = await mkdtemp(join(tmpdir(), "varstream-file-"));
    return {
      config: { path: dir, format },
      // the README shows the JSON file as it is
      view: fileView(dir, format, (_d, text) => text),
      close: () => rm(dir, { recursive: true, force: true }),
    };
  },
};
