// The installable command: `node scripts/pack-cli.ts` writes .cache/pack/varstream-<version>.tgz and prints
// its path. `npm install -g <that file>` gives `varstream` on any machine with Node 24.
//
// Node does not strip types under node_modules, and the workspace packages export TypeScript sources, so
// the package holds one bundled file: the CLI with its workspace packages, and kafkajs with this
// repository's patch. Every other dependency stays a dependency, pinned to the version the lockfile
// installed (several load files of their own at run time, which a bundle would lose). The CUE evaluator
// goes in as its WASI build (portable; the native helper is one platform's binary).
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, resolve } from "node:path";
import { build, type Plugin } from "esbuild";

const root = resolve(import.meta.dirname, "..");
const cli = join(root, "packages/cli");
const out = join(root, ".cache/pack");
const stage = join(out, "cli");
const { version, description } = JSON.parse(readFileSync(join(cli, "package.json"), "utf8")) as {
  version: string;
  description: string;
};

rmSync(stage, { recursive: true, force: true });
mkdirSync(join(stage, "bin"), { recursive: true });
mkdirSync(join(stage, "cue"), { recursive: true });

/** The package a bare import names: `@scope/name/sub` → `@scope/name`. */
const packageOf = (spec: string) =>
  spec
    .split("/")
    .slice(0, spec.startsWith("@") ? 2 : 1)
    .join("/");
const BUNDLED = (name: string) => name.startsWith("@varstream/") || name === "kafkajs";

/** The version of `name` that Node's lookup from `dir` finds (node_modules folders upwards). */
function installedVersion(name: string, dir: string): string {
  for (let at = dir; ; at = dirname(at)) {
    const manifest = join(at, "node_modules", name, "package.json");
    if (existsSync(manifest)) return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
    if (dirname(at) === at) throw new Error(`${name} is not installed where ${dir} would find it`);
  }
}

/** Leaves third-party packages out of the bundle and records the version each importer resolved. */
const dependencies: Record<string, string> = {};
const externals: Plugin = {
  name: "pinned-externals",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (isBuiltin(args.path)) return { external: true };
      const name = packageOf(args.path);
      if (BUNDLED(name)) return undefined;
      const v = installedVersion(name, args.resolveDir);
      const seen = dependencies[name];
      if (seen && seen !== v) throw new Error(`${name}: two versions in the bundle (${seen}, ${v})`);
      dependencies[name] = v;
      return { external: true };
    });
  },
};

await build({
  entryPoints: [join(cli, "src/main.ts")],
  outfile: join(stage, "dist/main.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  // kafkajs, bundled, is CommonJS: its require() calls of Node's own modules need a require.
  banner: {
    js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
  },
  plugins: [externals],
  logLevel: "error",
  legalComments: "linked",
});
copyFileSync(join(cli, "bin/varstream.js"), join(stage, "bin/varstream.js"));
copyFileSync(realpathSync(join(root, ".cache/cue/current.wasm")), join(stage, "cue/current.wasm"));
for (const file of ["README.md", "LICENSE"]) copyFileSync(join(root, file), join(stage, file));
writeFileSync(
  join(stage, "package.json"),
  `${JSON.stringify(
    {
      name: "varstream",
      version,
      description,
      type: "module",
      license: "Apache-2.0",
      bin: { varstream: "bin/varstream.js" },
      engines: { node: ">=24" },
      dependencies: Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b))),
      files: ["bin", "dist", "cue"],
    },
    null,
    2,
  )}\n`,
);
const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", out], { cwd: stage, encoding: "utf8" })
  .trim()
  .split("\n")
  .at(-1);
console.log(join(out, packed ?? ""));
