/**
 * The import layering of varstream, checked in CI (`pnpm exec depcruise`): packages hold the cores,
 * services are wiring, tests and benchmarks sit on top. See docs/architecture.md#layering.
 */
const PACKAGE_SOURCE = "^packages/[^/]+/src/";
/** test support inside a package's source: its tests, fixtures and `testing.ts`, which may use the test kit */
const TEST_SUPPORT = "(\\.test\\.ts|/fixture\\.ts|/testing\\.ts)$";

/** Which packages a package may import, besides npm modules; anything else is an upward or sideways arrow. */
const ALLOWED = {
  cue: [],
  platforms: [],
  shared: ["platforms"],
  sinks: ["shared", "platforms"],
  bundle: ["shared", "platforms", "sinks", "cue"],
  pipeline: ["shared", "platforms", "sinks", "bundle", "cue"],
  cli: ["shared", "platforms", "sinks", "bundle", "pipeline", "cue"],
};

const packageRules = Object.entries(ALLOWED).map(([name, allowed]) => ({
  name: `layering-${name}`,
  comment: `packages/${name} may import only ${allowed.length ? allowed.map((a) => `packages/${a}`).join(", ") : "npm modules"}`,
  severity: "error",
  from: { path: `^packages/${name}/src/`, pathNot: TEST_SUPPORT },
  to: {
    path: "^(packages|services|test|bench)/",
    pathNot: [`^packages/${name}/`, ...allowed.map((a) => `^packages/${a}/`)],
  },
}));

module.exports = {
  forbidden: [
    ...packageRules,
    {
      name: "no-package-imports-a-service",
      comment: "the cores are packages; a package that needs a service's code needs that code moved into a package",
      severity: "error",
      from: { path: PACKAGE_SOURCE },
      to: { path: "^services/" },
    },
    {
      name: "no-service-imports-another-service",
      comment: "services are wiring only: what two services share lives in a package",
      severity: "error",
      from: { path: "^services/([^/]+)/" },
      to: { path: "^services/", pathNot: "^services/$1/" },
    },
    {
      name: "no-source-imports-tests",
      comment: "only tests, fixtures and benchmarks use the test kit",
      severity: "error",
      from: { path: "^(packages|services)/[^/]+/src/", pathNot: TEST_SUPPORT },
      to: { path: "^(test|bench)/" },
    },
    {
      name: "no-circular",
      severity: "error",
      from: { path: "^(packages|services)/" },
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)node_modules/|^\\.cache/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "node", "default"],
      extensions: [".ts", ".js", ".json"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
