import type { SinkDeps } from "../contract.ts";
import { FileSink } from "../file/file-sink.ts";
import type { S3SinkConfig } from "./config.ts";
import { S3Store } from "./s3-store.ts";

/**
 * The file sink's objects in an S3 bucket: one object per destination, `<key_prefix><destination>.<format>`,
 * and the manifests at `<key_prefix>.varstream/<destination>.manifest.json`. Each PUT is atomic; the
 * manifest object goes first and names the data object it describes, as the file sink's manifest file.
 */
export class S3Sink extends FileSink {
  /** (Not `connect`: the file sink's takes a folder.) */
  static async open(name: string, config: S3SinkConfig, deps: SinkDeps): Promise<S3Sink> {
    const { secrets } = deps;
    const credentials =
      config.access_key_id === undefined || config.secret_access_key === undefined
        ? undefined
        : {
            accessKeyId: await secrets.resolve(config.access_key_id),
            secretAccessKey: await secrets.resolve(config.secret_access_key),
            ...(config.session_token === undefined
              ? {}
              : { sessionToken: await secrets.resolve(config.session_token) }),
          };
    const store = new S3Store(config.bucket, config.key_prefix, {
      region: config.region,
      ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
      forcePathStyle: config.force_path_style ?? config.endpoint !== undefined,
      ...(credentials === undefined ? {} : { credentials }),
    });
    return new S3Sink(name, { format: config.format, store });
  }
}
