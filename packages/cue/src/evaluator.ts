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
  validate(data: unknown): CueProblem[];
}

/**
 * The narrow interface the rest of varstream sees; the backend (a WASI module today) can change
 * behind it.
 */
export interface CueEvaluator {
  /** evaluates CUE source to a concrete JSON value (optionally at a path) */
  evaluate(source: string, options?: { filename?: string; path?: string }): CueResult<unknown>;
  /** compiles a schema once per content; the same source gives the same compiled schema */
  compile(source: string, filename?: string): CueResult<CompiledSchema>;
}
