/** A bundle that cannot be loaded: the path of the field at fault (`bundle.rules[2].file_name`) and why. */
export class BundleError extends Error {
  override name = "BundleError";
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string) {
    super(`bundle ${path}: ${reason}`);
    this.path = path;
    this.reason = reason;
  }
}
