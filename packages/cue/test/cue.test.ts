import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CueEvaluator, NativeCue, WasmCue } from "../src/index.ts";

const SCHEMA = `
#Config: {
  service: {
    name: string
    port: int & >0 & <65536
    debug: bool | *false
  }
  db: {
    host: string
    password: string @sensitive()
    token?: string @secret()
  }
  env: "dev" | "prod"
}
`;

describe.each([
  ["native helper", () => NativeCue.load()],
  ["WASI module", () => WasmCue.load()],
])("the real CUE evaluator (cuelang.org/go) as a %s", (_name, load) => {
  let cue: CueEvaluator;
  beforeAll(async () => {
    cue = await load();
  });
  afterAll(() => cue?.close());

  it("evaluates CUE to concrete JSON, with references and defaults", async () => {
    expect(await cue.evaluate('a: 1\nb: a + 1\nc: *"x" | string', {})).toEqual({
      ok: true,
      value: { a: 1, b: 2, c: "x" },
    });
    expect(await cue.evaluate("bundle: {x: 1}", { path: "bundle" })).toEqual({ ok: true, value: { x: 1 } });
    const incomplete = await cue.evaluate("a: int");
    expect(incomplete.ok).toBe(false);
    expect(!incomplete.ok && incomplete.errors[0]).toMatchObject({ path: "a", message: "incomplete value int" });
  });

  it("validates against #Config: types, bounds, enums, required fields and closedness, with paths", async () => {
    const compiled = await cue.compile(SCHEMA, "app.cue");
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    const schema = compiled.value;
    expect(schema.hasConfig).toBe(true);
    const good = { service: { name: "x", port: 80 }, db: { host: "h", password: "p" }, env: "prod" };
    expect(await schema.validate(good)).toEqual([]);
    const paths = async (data: unknown) => (await schema.validate(data)).map((e) => e.path);
    expect(await paths({ ...good, service: { name: 1, port: 80 } })).toEqual(["#Config.service.name"]);
    expect(await paths({ ...good, service: { name: "x", port: 70000 } })).toEqual(["#Config.service.port"]);
    expect(await paths({ ...good, env: "stage" })).toContain("#Config.env");
    expect(await paths({ ...good, db: { host: "h" } })).toEqual(["#Config.db.password"]);
    expect(await paths({ ...good, surprise: 1 })).toEqual(["#Config.surprise"]);
    // every violation at once, the missing field too
    expect((await paths({ ...good, service: { name: 1, port: 80 }, db: { host: "h" } })).sort()).toEqual([
      "#Config.db.password",
      "#Config.service.name",
    ]);
    // numbers stay numbers: an int is not a string
    expect(await paths({ ...good, service: { name: "x", port: "80" } })).toEqual(["#Config.service.port"]);
  });

  it("reads @secret() and @sensitive() attributes through the CUE API", async () => {
    const compiled = await cue.compile(SCHEMA);
    expect(compiled.ok && compiled.value.secret).toEqual(["db.token"]);
    expect(compiled.ok && compiled.value.sensitive).toEqual(["db.password"]);
    // an attribute in a comment or a string is no attribute
    const tricky = await cue.compile(
      '#Config: {\n  // note: password @sensitive()\n  a: string\n  b: "@secret()" | string\n}',
    );
    expect(tricky.ok && [tricky.value.secret, tricky.value.sensitive]).toEqual([[], []]);
  });

  it("compiles a schema once per content", async () => {
    const a = await cue.compile("#Config: {a: int}");
    const b = await cue.compile("#Config: {a: int}");
    expect(a.ok && b.ok && a.value === b.value).toBe(true);
    const broken = await cue.compile("#Config: {a: int & string}}");
    expect(broken.ok).toBe(false);
  });

  it("gives correct, independent results to 200 validations from several consumers at once", async () => {
    const schemas = await Promise.all(
      [0, 1, 2, 3].map((i) => cue.compile(`#Config: {n: int & >=${i * 10}, name: "s${i}"}`)),
    );
    const jobs = Array.from({ length: 200 }, (_, j) => {
      const which = j % 4;
      const valid = j % 3 !== 0;
      return { which, valid, data: { n: valid ? which * 10 + j : which * 10 - 1, name: `s${which}` } };
    });
    const results = await Promise.all(
      jobs.map(async (job) => {
        const s = schemas[job.which]!;
        if (!s.ok) throw new Error("schema");
        return s.value.validate(job.data);
      }),
    );
    results.forEach((errors, j) => {
      const job = jobs[j]!;
      if (job.valid) expect(errors, `job ${j}`).toEqual([]);
      else
        expect(
          errors.map((e) => e.path),
          `job ${j}`,
        ).toEqual(["#Config.n"]);
    });
  });
});

describe("the native helper dies", () => {
  it("fails the requests it held, and the next request starts a new one that still knows every schema", async () => {
    const cue = await NativeCue.load();
    try {
      const compiled = await cue.compile(SCHEMA, "app.cue");
      if (!compiled.ok) throw new Error("schema did not compile");
      const good = { service: { name: "web", port: 80 }, db: { host: "h", password: "p" }, env: "dev" };
      expect(await compiled.value.validate(good)).toEqual([]);
      const pid = cue.pid!;
      process.kill(pid, "SIGKILL");
      // Killed under a request or between two: either way the next call answers, from a new helper.
      await cue.evaluate("a: 1").catch(() => undefined);
      expect(await cue.evaluate("a: 1")).toEqual({ ok: true, value: { a: 1 } });
      expect(cue.respawns).toBe(1);
      expect(cue.pid).not.toBe(pid);
      expect(await compiled.value.validate(good)).toEqual([]);
      expect((await compiled.value.validate({ ...good, env: "qa" })).length).toBeGreaterThan(0);
    } finally {
      cue.close();
    }
  });
});
