import { readFile } from "node:fs/promises";
import { z } from "zod";
import { PipelineError } from "../errors/pipeline.ts";
import { doc } from "./describe.ts";

/** A credential field: a literal, `{file: path}`, `{env: NAME}` or `{ref: {path, key}}`. */
export const SecretRef = z.union([
  z.string(),
  z.object({ file: z.string().min(1) }).strict(),
  z.object({ env: z.string().min(1) }).strict(),
  z.object({ ref: z.object({ path: z.string().min(1), key: z.string().min(1) }).strict() }).strict(),
]);
export type SecretRef = z.infer<typeof SecretRef>;

/** A credential field: a literal or any secret reference of the bundle, resolved at use and never logged. */
export const credential = (description: string, example?: unknown) => doc(SecretRef, description, example);

/** The secret managers a bundle names: Vault KV v1/v2 with a token or AppRole. */
/** A credential of the secret manager itself: a literal, a file or an environment variable. */
const LocalSecret = z.union([
  z.string(),
  z.object({ file: z.string() }).strict(),
  z.object({ env: z.string() }).strict(),
]);

export const SecretManagers = z
  .object({
    vault: doc(
      z
        .object({
          address: doc(z.string().url(), "the Vault server's URL"),
          mount: doc(z.string().min(1).default("secret"), "the KV secrets engine's mount"),
          kv_version: doc(z.union([z.literal(1), z.literal(2)]).default(2), "the KV engine's version"),
          namespace: doc(z.string().optional(), "a Vault Enterprise namespace"),
          token: doc(LocalSecret.optional(), "a token (a literal, {file} or {env}); or approle"),
          approle: doc(
            z
              .object({
                role_id: doc(z.string().min(1), "the AppRole's role id"),
                secret_id: doc(LocalSecret, "its secret id (a literal, {file} or {env})"),
                mount: doc(z.string().default("approle"), "where the AppRole auth method is mounted"),
              })
              .strict()
              .optional(),
            "AppRole login, instead of a token",
          ),
        })
        .strict()
        .refine((v) => v.token !== undefined || v.approle !== undefined, "vault needs token or approle")
        .optional(),
      "HashiCorp Vault KV v1/v2: `{ref: {path, key}}` reads `key` of the secret at `path`",
    ),
  })
  .strict();
export type SecretManagers = z.infer<typeof SecretManagers>;

export class SecretError extends PipelineError {
  override name = "SecretError";
  constructor(message: string) {
    super("SECRET_UNRESOLVED", message);
  }
}

type Env = Record<string, string | undefined>;

export interface SecretsOptions {
  managers?: SecretManagers;
  /** how long a resolved secret is reused (default 60 s) */
  ttlMs?: number;
  env?: Env;
  fetch?: typeof fetch;
}

/**
 * Resolves secrets at use and caches them for a TTL. A secret that cannot be resolved
 * throws: a placeholder is never used. Values never reach a log; errors name the reference only.
 */
export class Secrets {
  private readonly options: SecretsOptions;
  private readonly cache = new Map<string, { value: string; expires: number }>();
  private vaultToken: { value: string; expires: number } | undefined;

  constructor(options: SecretsOptions = {}) {
    this.options = options;
  }

  private get env(): Env {
    return this.options.env ?? process.env;
  }

  async resolve(ref: SecretRef): Promise<string> {
    if (typeof ref === "string") return ref;
    const key = JSON.stringify(ref);
    const hit = this.cache.get(key);
    if (hit && hit.expires > Date.now()) return hit.value;
    const value = await this.lookup(ref);
    this.cache.set(key, { value, expires: Date.now() + (this.options.ttlMs ?? 60_000) });
    return value;
  }

  /**
   * A secret reference written as text in a config file, for fields marked `@secret()`:
   * `env:NAME`, `file:/path`, or `vault:<path>#<key>`.
   */
  async resolveText(text: string): Promise<string> {
    const match = /^(env|file|vault):(.+)$/.exec(text.trim());
    if (!match) {
      throw new SecretError(
        `a @secret() value must be a reference (env:NAME, file:/path, vault:path#key), got another value`,
      );
    }
    const [, kind, rest] = match as unknown as [string, string, string];
    if (kind === "env") return this.resolve({ env: rest });
    if (kind === "file") return this.resolve({ file: rest });
    const hash = rest.lastIndexOf("#");
    if (hash <= 0 || hash === rest.length - 1) throw new SecretError(`vault reference ${rest} needs path#key`);
    return this.resolve({ ref: { path: rest.slice(0, hash), key: rest.slice(hash + 1) } });
  }

  private async lookup(ref: Exclude<SecretRef, string>): Promise<string> {
    if ("file" in ref) {
      try {
        return (await readFile(ref.file, "utf8")).trim();
      } catch (err) {
        throw new SecretError(
          `secret file ${ref.file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
        );
      }
    }
    if ("env" in ref) {
      const value = this.env[ref.env];
      if (value === undefined || value === "") throw new SecretError(`secret env ${ref.env} is not set`);
      return value;
    }
    return this.vault(ref.ref.path, ref.ref.key);
  }

  private async vault(path: string, key: string): Promise<string> {
    const vault = this.options.managers?.vault;
    if (!vault) throw new SecretError(`secret ${path}#${key} needs a vault secret manager in the bundle`);
    const url =
      vault.kv_version === 2
        ? `${vault.address.replace(/\/+$/, "")}/v1/${vault.mount}/data/${path}`
        : `${vault.address.replace(/\/+$/, "")}/v1/${vault.mount}/${path}`;
    const res = await this.vaultRequest(url, { headers: { "x-vault-token": await this.vaultLogin() } });
    const body = (await res.json()) as { data?: { data?: Record<string, unknown> } & Record<string, unknown> };
    const data = vault.kv_version === 2 ? body.data?.data : body.data;
    const value = data?.[key];
    if (typeof value !== "string" && typeof value !== "number")
      throw new SecretError(`vault ${path} has no key ${key}`);
    return String(value);
  }

  private async vaultLogin(): Promise<string> {
    const vault = this.options.managers!.vault!;
    if (vault.token !== undefined) return this.resolve(vault.token);
    if (this.vaultToken && this.vaultToken.expires > Date.now()) return this.vaultToken.value;
    const approle = vault.approle!;
    const res = await this.vaultRequest(`${vault.address.replace(/\/+$/, "")}/v1/auth/${approle.mount}/login`, {
      method: "POST",
      body: JSON.stringify({ role_id: approle.role_id, secret_id: await this.resolve(approle.secret_id) }),
    });
    const body = (await res.json()) as { auth?: { client_token?: string; lease_duration?: number } };
    const token = body.auth?.client_token;
    if (!token) throw new SecretError("vault approle login returned no token");
    const ttl = Math.max(1, (body.auth?.lease_duration ?? 300) - 30) * 1000;
    this.vaultToken = { value: token, expires: Date.now() + ttl };
    return token;
  }

  private async vaultRequest(url: string, init: RequestInit): Promise<Response> {
    const vault = this.options.managers!.vault!;
    const headers = new Headers(init.headers);
    if (vault.namespace) headers.set("x-vault-namespace", vault.namespace);
    let res: Response;
    try {
      res = await (this.options.fetch ?? fetch)(url, { ...init, headers, signal: AbortSignal.timeout(5000) });
    } catch (err) {
      throw new SecretError(`vault at ${vault.address} is unreachable: ${(err as Error).message}`);
    }
    if (!res.ok) throw new SecretError(`vault answered ${res.status} for ${new URL(url).pathname}`);
    return res;
  }
}
