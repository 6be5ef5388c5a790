import type { Rule } from "@varstream/bundle";
import type { Tree } from "@varstream/shared";
import { PipelineError } from "@varstream/shared";

export class SelectError extends PipelineError {
  override name = "SelectError";
  constructor(message: string) {
    super("ROOT_KEY_MISSING", message);
  }
}

function isMap(tree: Tree): tree is { [key: string]: Tree } {
  return tree !== null && typeof tree === "object" && !Array.isArray(tree);
}

/** A map's own entry: an env or key named like an Object method (`constructor`) finds nothing inherited. */
function own(map: { [key: string]: Tree }, key: string): Tree | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/** `root_key` (a dotted path into the tree): absent → the whole file; missing → an error. */
export function selectRoot(tree: Tree, rootKey: string | undefined): Tree {
  if (rootKey === undefined) return tree;
  let node = tree;
  for (const part of rootKey.split(".")) {
    const next = isMap(node) ? own(node, part) : undefined;
    if (next === undefined) throw new SelectError(`root_key ${rootKey} is not in the file`);
    node = next;
  }
  return node;
}

/**
 * Environment slicing, explicit per rule. `top`: the top-level keys are env names plus
 * `default`; the env's block is laid over `default`. `leaf`: any map whose keys are all env names plus
 * `default` collapses to the env's value. An env with neither a block nor a default fails the file.
 */
export function sliceEnv(tree: Tree, rule: Rule, env: string, knownEnvs: ReadonlySet<string>): Tree {
  switch (rule.env_layout) {
    case "none":
      return tree;
    case "top": {
      if (!isMap(tree)) throw new SelectError("env_layout top needs a map at the root");
      const block = own(tree, env);
      const fallback = own(tree, "default");
      if (block === undefined && fallback === undefined) {
        throw new SelectError(`no block for env ${env} and no default`);
      }
      return merge(fallback ?? {}, block ?? {});
    }
    case "leaf":
      return collapse(tree, env, knownEnvs);
  }
}

function merge(base: Tree, over: Tree): Tree {
  if (!isMap(base) || !isMap(over)) return over;
  const out: { [key: string]: Tree } = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = Object.hasOwn(out, k) ? merge(out[k]!, v) : v;
  return out;
}

function collapse(tree: Tree, env: string, knownEnvs: ReadonlySet<string>): Tree {
  if (Array.isArray(tree)) return tree.map((t) => collapse(t, env, knownEnvs));
  if (!isMap(tree)) return tree;
  const keys = Object.keys(tree);
  const envish = keys.length > 0 && keys.every((k) => k === "default" || knownEnvs.has(k));
  if (envish) {
    const chosen = own(tree, env) ?? own(tree, "default");
    if (chosen === undefined) throw new SelectError(`no value for env ${env} and no default`);
    return collapse(chosen, env, knownEnvs);
  }
  const out: { [key: string]: Tree } = {};
  for (const [k, v] of Object.entries(tree)) out[k] = collapse(v, env, knownEnvs);
  return out;
}
