import { credential, doc } from "@varstream/shared";
import { z } from "zod";
import { sinkConfig } from "../config.ts";
import { FILE_FORMATS } from "../file/config.ts";

export const SshSinkConfig = sinkConfig({
  host: doc(z.string().min(1), "the remote host", "app1.internal"),
  port: doc(z.number().int().positive().default(22), "its SSH port"),
  username: doc(z.string().min(1), "the user to log in as", "deploy"),
  private_key: credential("a private key (OpenSSH PEM)", { file: "/etc/varstream/id_ed25519" }).optional(),
  password: credential("a password, when there is no key").optional(),
  host_key_sha256: doc(
    z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]+$/)
      .optional(),
    "the server's host key as `ssh-keygen -lf` prints it; any other key is refused",
    "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
  ),
  path: doc(z.string().min(1), "the remote folder; one file per destination under it", "/etc/app"),
  format: doc(
    z.enum(FILE_FORMATS).default("env"),
    "how a destination's file is rendered: json, yaml, env or properties",
  ),
  file_mode: doc(
    z
      .string()
      .regex(/^0?[0-7]{3}$/, "an octal mode such as 0640")
      .optional(),
    "the data file's permission bits (default 0644, or 0600 when it holds secrets; secrets never stay readable by others)",
    "0640",
  ),
  owner: doc(
    z
      .string()
      .regex(/^[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)?$/, "user or user:group")
      .optional(),
    "`chown`s the new file to `user` or `user:group` before it replaces the old one (the login must be allowed to)",
    "app:app",
  ),
  sudo: doc(
    z.boolean().default(false),
    "run `chown` and the commands below with `sudo -n` (a sudoers rule without password)",
  ),
  absolute_paths: doc(
    z.boolean().default(false),
    "a destination starting with `/` is that file on the host (`/etc/app/{env}.env`), as varTrack's linux_server writes; off: refused",
  ),
  validate_command: doc(
    z.string().min(1).optional(),
    "runs on the new file before it replaces the old one; `{file}` is its path; non-zero keeps the old file",
    "nginx -t -c {file}",
  ),
  reload_command: doc(
    z.string().min(1).optional(),
    "runs after a file changed; `{file}` is its path",
    "systemctl reload app",
  ),
}).refine((c) => c.private_key !== undefined || c.password !== undefined, "ssh needs private_key or password");
export type SshSinkConfig = z.infer<typeof SshSinkConfig>;
