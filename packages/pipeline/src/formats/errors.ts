import { PipelineError } from "@varstream/shared";

/** A file that cannot be parsed; carries the position so the task can say where. */
export class ParseError extends PipelineError {
  override name = "ParseError";
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(format: string, reason: string, line?: number, column?: number) {
    super("PARSE_ERROR", `${format}: ${reason}${line === undefined ? "" : ` at line ${line}, column ${column ?? 1}`}`);
    this.line = line;
    this.column = column;
  }
}

/** Line and column (1-based) of a character offset. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line += 1;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
