import { flatten } from "@varstream/shared";
import { describe, expect, it } from "vitest";
import { formatOf, parseFile } from "../src/formats/index.ts";

const flat = async (path: string, text: string) => flatten((await parseFile(path, Buffer.from(text))).tree);

/** One realistic service config, written in every format; each must flatten to these keys and types. */
const SERVICE = {
  "database.host": "db.internal",
  "database.port": 5432,
  "database.ssl": true,
  "service.name": "checkout",
  "service.ratio": 0.75,
};

describe("golden files: every format flattens to the exact map with types", () => {
  it("YAML", async () => {
    const text =
      "service:\n  name: checkout\n  ratio: 0.75\ndatabase:\n  host: db.internal\n  port: 5432\n  ssl: true\n";
    expect(await flat("app.yaml", text)).toEqual(SERVICE);
  });

  it("JSON and JSONC", async () => {
    const json =
      '{"service":{"name":"checkout","ratio":0.75},"database":{"host":"db.internal","port":5432,"ssl":true}}';
    expect(await flat("app.json", json)).toEqual(SERVICE);
    const jsonc = `{
      // the service
      "service": { "name": "checkout", "ratio": 0.75, },
      /* where data lives */
      "database": { "host": "db.internal", "port": 5432, "ssl": true },
    }`;
    expect(await flat("app.jsonc", jsonc)).toEqual(SERVICE);
  });

  it("TOML, the YAML file's twin, with dates as ISO strings", async () => {
    const text = `
[service]
name = "checkout"
ratio = 0.75

[database]
host = "db.internal"
port = 5432
ssl = true
`;
    expect(await flat("app.toml", text)).toEqual(SERVICE);
    expect(await flat("d.toml", "released = 2024-05-01T10:00:00Z\nday = 2024-05-01\n")).toEqual({
      day: "2024-05-01",
      released: "2024-05-01T10:00:00.000Z",
    });
  });

  it("INI: sections become nesting", async () => {
    const text =
      "; checkout\n[service]\nname = checkout\ndebug = false\n\n[database]\nhost = db.internal\nport = 5432\n";
    expect(await flat("app.ini", text)).toEqual({
      "database.host": "db.internal",
      "database.port": "5432",
      "service.debug": false,
      "service.name": "checkout",
    });
  });

  it("dotenv: export prefix, quotes and comments", async () => {
    const text =
      "# app\nexport DB_HOST=db.internal\nDB_PORT=5432\nGREETING=\"hello # not a comment\"\nSINGLE='a b'\nEMPTY=\n";
    expect(await flat(".env", text)).toEqual({
      DB_HOST: "db.internal",
      DB_PORT: "5432",
      EMPTY: "",
      GREETING: "hello # not a comment",
      SINGLE: "a b",
    });
    expect(formatOf("deploy/.env.production")).toBe("dotenv");
  });

  it("Java properties: escapes, continuations, dotted keys nest", async () => {
    const text =
      "# checkout\ndatabase.host=db.internal\ndatabase.port : 5432\nservice.name checkout\nmessage=line one \\\n  continued\nunicode=caf\\u00e9\n";
    expect(await flat("app.properties", text)).toEqual({
      "database.host": "db.internal",
      "database.port": "5432",
      message: "line one continued",
      "service.name": "checkout",
      unicode: "café",
    });
  });

  it("HCL and tfvars", async () => {
    const text =
      'service_name = "checkout"\nreplicas = 3\nenabled = true\nzones = ["a", "b"]\ntags = {\n  team = "payments"\n}\n';
    expect(await flat("vars.tfvars", text)).toEqual({
      enabled: true,
      replicas: 3,
      service_name: "checkout",
      "tags.team": "payments",
      "zones.0": "a",
      "zones.1": "b",
    });
  });

  it("XML: attributes as @name, repeated elements as arrays", async () => {
    const text =
      '<?xml version="1.0"?>\n<config env="prod">\n  <server host="a"/>\n  <server host="b"/>\n  <name>checkout</name>\n</config>\n';
    expect(await flat("app.xml", text)).toEqual({
      "config.@env": "prod",
      "config.name": "checkout",
      "config.server.0.@host": "a",
      "config.server.1.@host": "b",
    });
  });
});

describe("broken files fail with their position", () => {
  it.each([
    ["app.yaml", "a: 1\n  b: [\n", /yaml: .* at line \d+, column \d+/],
    ["app.json", '{\n  "a": 1\n  "b": 2\n}', /json: .* at line 3, column 3/],
    ["app.jsonc", "{\n  // c\n  a: 1\n}", /jsonc: .* at line 3, column 3/],
    ["app.toml", "[service]\nname = \n", /toml: .* at line 2, column \d+/],
    ["app.ini", "[service\nname = x\n", /ini: unclosed section header at line 1, column 1/],
    [".env", "GOOD=1\nthis is not env\n", /dotenv: expected NAME=value at line 2, column 1/],
    ["app.properties", "a=1\na.b=2\n", /properties: .* at line 2, column 1/],
    ["main.hcl", 'name = "x"\nport = {\n', /hcl: .* at line \d+, column \d+/],
    ["app.xml", "<config>\n  <a>1</b>\n</config>", /xml: .* at line 2, column \d+/],
  ])("%s", async (path, text, message) => {
    await expect(parseFile(path, Buffer.from(text))).rejects.toThrow(message);
  });

  it("refuses XML entity declarations (billion laughs)", async () => {
    const bomb = '<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>\n<l>&b;</l>';
    await expect(parseFile("bomb.xml", Buffer.from(bomb))).rejects.toThrow(/xml/);
  });

  it("parses 10,000 levels of nested JSON", async () => {
    const deep = `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`;
    const keys = await flat("deep.json", deep);
    expect(Object.values(keys)).toEqual([1]);
  });
});
