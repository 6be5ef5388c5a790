import { PipelineError } from "@varstream/shared";
import type { SinkDeps } from "../contract.ts";
import { FileSink } from "../file/file-sink.ts";
import type { SshSinkConfig } from "./config.ts";
import { SftpStore, shellQuote } from "./sftp-store.ts";

/**
 * A rendered file on a remote host over SFTP: the file sink's layout and apply, its files written to a
 * temp name and renamed; `validate_command` runs on the temp file first (a failure keeps the old
 * file), `reload_command` after a change.
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
    const withFile = (command: string, path: string) => command.replaceAll("{file}", shellQuote(path));
    const { validate_command: validate, reload_command: reload } = config;
    return new SshSink(name, {
      format: config.format,
      store,
      ...(validate === undefined
        ? {}
        : {
            validate: async (tempPath: string) => {
              await store.exec(withFile(validate, tempPath)).catch((err: Error) => {
                throw new PipelineError("SINK_REFUSED", `validate_command refused the new file: ${err.message}`);
              });
            },
          }),
      ...(reload === undefined
        ? {}
        : { reload: async (path: string) => void (await store.exec(withFile(reload, `${config.path}/${path}`))) }),
    });
  }
}
