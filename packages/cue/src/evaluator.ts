import { createHash } from "node:crypto";

/** One problem CUE found, addressed by its path in the value. */
export interface CueProblem {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export type CueResult<T> = { ok: true; value: T } | { ok: false; errors: CueProblem[] };

/** A compiled schema: validate documents against its `#Config` (or the whole schema). */
export interface CompiledSchema {
  readonly id: string;
  /** the schema defines `#Config` */
  readonly hasConfig: boolean;
  /** dotted paths of fields marked `@secret()` */
  readonly secret: readonly string[];
  /** dotted paths of fields marked `@sensitive()` */
  readonly sensitive: readonly string[];
  validate(data: unknown): Promise<CueProblem[]>;
}

/**
 * The narrow interface the rest of varstream sees; the backend (a native helper process or a WASI
 * module) can change behind it.
 */
export interface CueEvaluator {
  readonly backend: string;
  /** evaluates CUE source to a concrete JSON value (optionally at a path) */
  evaluate(source: string, options?: { filename?: string; path?: string }): Promise<CueResult<unknown>>;
  /** compiles a schema once per content; the same source gives the same compiled schema */
  compile(source: string, filename?: string): Promise<CueResult<CompiledSchema>>;
  close(): void;
}

/** The JSON a backend answers with. */
export interface Answer {
  errors?: CueProblem[];
  value?: unknown;
  has_config?: boolean;
  secret?: string[];
  sensitive?: string[];
}

/** The request/answer protocol both backends speak; compile caching and result shaping live here. */
export abstract class JsonEvaluator implements CueEvaluator {
  abstract readonly backend: string;
  private readonly schemas = new Map<string, Promise<CueResult<CompiledSchema>>>();
  /** schema ids the evaluator holds now; a restarted helper holds none */
  private readonly loaded = new Set<string>();
  protected abstract call(request: object): Promise<Answer>;
  abstract close(): void;

  /** The evaluator restarted empty: compiled schemas are sent again before their next use. */
  protected forgetCompiled(): void {
    this.loaded.clear();
  }

  private async ensureLoaded(id: string, source: string, filename: string): Promise<void> {
    if (this.loaded.has(id)) return;
    const answer = await this.call({ op: "compile", id, source, filename });
    if (answer.errors?.length) throw new Error(`schema ${filename} no longer compiles: ${answer.errors[0]?.message}`);
    this.loaded.add(id);
  }

  async evaluate(source: string, options: { filename?: string; path?: string } = {}): Promise<CueResult<unknown>> {
    const answer = await this.call({
      op: "evaluate",
      source,
      filename: options.filename ?? "input.cue",
      path: options.path ?? "",
    });
    return answer.errors?.length ? { ok: false, errors: answer.errors } : { ok: true, value: answer.value };
  }

  compile(source: string, filename = "schema.cue"): Promise<CueResult<CompiledSchema>> {
    const id = hash(source);
    let compiled = this.schemas.get(id);
    if (!compiled) {
      compiled = this.call({ op: "compile", id, source, filename }).then((answer): CueResult<CompiledSchema> => {
        if (answer.errors?.length) {
          this.schemas.delete(id);
          return { ok: false, errors: answer.errors };
        }
        this.loaded.add(id);
        return {
          ok: true,
          value: {
            id,
            hasConfig: answer.has_config ?? false,
            secret: answer.secret ?? [],
            sensitive: answer.sensitive ?? [],
            validate: async (data) => {
              await this.ensureLoaded(id, source, filename);
              return (await this.call({ op: "validate", id, data })).errors ?? [];
            },
          },
        };
      });
      this.schemas.set(id, compiled);
    }
    return compiled;
  }
}

function hash(source: string): string {
  return createHash("sha256").update(source).digest("hex");
}
