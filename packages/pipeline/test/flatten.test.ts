import { applyVariablesMap, FlattenError, flatten } from "@varstream/shared";
import { describe, expect, it } from "vitest";
import { parseFile } from "../src/formats/index.ts";

describe("flatten", () => {
  it("flattens maps by key and arrays by index, keeping types and empty containers", () => {
    expect(flatten({ a: { b: 1, c: [true, { d: "x" }] }, e: {}, f: [], g: null, h: 1.5 })).toEqual({
      "a.b": 1,
      "a.c.0": true,
      "a.c.1.d": "x",
      e: {},
      f: [],
      g: null,
      h: 1.5,
    });
  });

  it("escapes the separator inside keys so different trees never collide", () => {
    const nested = flatten({ a: { b: 1 } });
    const dotted = flatten({ "a.b": 1 });
    expect(nested).toEqual({ "a.b": 1 });
    expect(dotted).toEqual({ "a\\.b": 1 });
    expect(flatten({ "a\\": { b: 1 } })).toEqual({ "a\\\\.b": 1 });
    expect(flatten({ a: { b: 1 } }, "/")).toEqual({ "a/b": 1 });
  });

  it("refuses a scalar root", () => {
    expect(() => flatten("text")).toThrow(FlattenError);
    expect(() => flatten(null)).toThrow(/not a map/);
  });

  it("walks 10,000 levels of nesting without overflowing the stack", () => {
    let tree: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 10_000; i++) tree = { n: tree };
    const flat = flatten(tree as never);
    expect(Object.keys(flat)).toHaveLength(1);
    expect(Object.values(flat)).toEqual([1]);
  });

  it("applies variables_map: renames and literal additions", () => {
    expect(applyVariablesMap({ "db.host": "h", port: 1 }, { DB_HOST: "db.host", REGION: "eu-1" })).toEqual({
      DB_HOST: "h",
      port: 1,
      REGION: "eu-1",
    });
  });
});

describe("formats", () => {
  it("parses YAML 1.2 (no yes/no booleans, dates stay strings)", async () => {
    const { format, tree } = await parseFile("a.yaml", Buffer.from("on: yes\nwhen: 2024-01-02\nn: 010\n"));
    expect(format).toBe("yaml");
    expect(tree).toEqual({ on: "yes", when: "2024-01-02", n: 10 });
  });

  it("rejects a YAML alias bomb", async () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(",")}]`);
    }
    await expect(parseFile("bomb.yaml", Buffer.from(lines.join("\n")))).rejects.toThrow(/alias/i);
  });

  it("gives line and column for broken YAML and JSON", async () => {
    await expect(parseFile("a.yaml", Buffer.from("a: 1\nb: [2\n"))).rejects.toThrow(/at line \d+, column \d+/);
    await expect(parseFile("a.json", Buffer.from('{\n  "a": 1,\n  "b": }\n'))).rejects.toThrow(/at line 3, column 8/);
  });

  it("rejects duplicate YAML keys, several documents and invalid UTF-8", async () => {
    await expect(parseFile("a.yaml", Buffer.from("a: 1\na: 2\n"))).rejects.toThrow(/unique|duplicate/i);
    await expect(parseFile("a.yml", Buffer.from("a: 1\n---\nb: 2\n"))).rejects.toThrow(/single YAML document/);
    await expect(parseFile("a.json", Buffer.from([0x7b, 0xff, 0x7d]))).rejects.toThrow(/UTF-8/);
  });
});
