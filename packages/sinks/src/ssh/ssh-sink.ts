import { PipelineError } from "@varstream/shared";
import type { SinkDeps } from "../contract.ts";
import { FileSink } from "../file/file-sink.ts";
import type { SshSinkConfig } from "./config.ts";
import { SftpStore, shellQuote } from "./sftp-store.ts";

/**
 * A rendered file on a remote host over SFTP: the file sink's layout and apply, its files written to a
 * temp name and renamed; the temp file gets `file_mode` and `owner`, then `validate_command` runs on it
 * (a failure keeps the old file), `reload_command` after a change.
 */
export class SshSink extends FileSink {
  static override async connect(name: string, config: SshSinkConfig, deps: SinkDeps): Promise<SshSink> {
    const { secrets } = deps;
    if (deps.appEnv === "production" && config.host_key_sha256 === undefined) {
      throw new PipelineError(
        "SINK_REFUSED",
        `ssh sink ${name}: APP_ENV=production needs host_key_sha256 (the server's key is never trusted on first use)`,
      );
    }
    const store = new SftpStore({
      host: config.host,
      port: config.port,
      username: config.username,
      root: config.path,
      ...(config.private_key === undefined ? {} : { privateKey: await secrets.resolve(config.private_key) }),
      ...(config.password === undefined ? {} : { password: await secrets.resolve(config.password) }),
      ...(config.host_key_sha256 === undefined ? {} : { hostKeySha256: config.host_key_sha256 }),
    });
    const sudo = config.sudo ? "sudo -n " : "";
    // With sudo, the whole command line runs as root (`a && b` included), not only its first command.
    const withFile = (command: string, path: string) => {
      const line = command.replaceAll("{file}", shellQuote(path));
      return config.sudo ? `sudo -n sh -c ${shellQuote(line)}` : line;
    };
    const { validate_command: validate, reload_command: reload, owner } = config;
    const mode = config.file_mode === undefined ? undefined : Number.parseInt(config.file_mode, 8);
    return new SshSink(name, {
      format: config.format,
      store,
      absolutePaths: config.absolute_paths,
      ...(mode === undefined ? {} : { mode }),
      // On the temp file, before it replaces the old one: permissions, owner, then the validate command.
      prepare: async (tempPath: string, fileMode: number) => {
        await store.chmod(tempPath, fileMode);
        if (owner !== undefined)
          await store.exec(`${sudo}chown ${shellQuote(owner)} ${shellQuote(tempPath)}`).catch((err: Error) => {
            throw new PipelineError("SINK_REFUSED", `chown ${owner} of the new file failed: ${err.message}`);
          });
        if (validate !== undefined)
          await store.exec(withFile(validate, tempPath)).catch((err: Error) => {
            throw new PipelineError("SINK_REFUSED", `validate_command refused the new file: ${err.message}`);
          });
      },
      ...(reload === undefined
        ? {}
        : {
            reload: async (path: string) =>
              void (await store.exec(withFile(reload, path.startsWith("/") ? path : `${config.path}/${path}`))),
          }),
    });
  }
}
