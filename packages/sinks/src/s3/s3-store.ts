import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import type { FileStore } from "../file/store.ts";

const CONTENT_TYPES: Record<string, string> = {
  json: "application/json",
  yaml: "application/yaml",
  env: "text/plain; charset=utf-8",
  properties: "text/plain; charset=utf-8",
};

/**
 * Objects of one bucket under a prefix, as a {@link FileStore}: a PUT replaces an object whole (S3 never
 * shows half an object), so a write needs no temp name and leaves nothing behind when it is cut off.
 */
export class S3Store implements FileStore {
  readonly where: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(bucket: string, prefix: string, config: S3ClientConfig) {
    this.bucket = bucket;
    this.prefix = prefix;
    this.where = `s3://${bucket}/${prefix}`;
    this.client = new S3Client({
      ...config,
      // The sink writer retries with its own backoff; a request that hangs fails within seconds.
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 3000, requestTimeout: 15_000 },
    });
  }

  private key(path: string): string {
    return `${this.prefix}${path}`;
  }

  async read(path: string): Promise<string | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
      return await res.Body?.transformToString("utf8");
    } catch (err) {
      // Absent: NoSuchKey, or a bare 404. (Without s3:ListBucket, AWS answers a missing object with 403,
      // which stays an error: the bucket policy must let the sink list what it writes.)
      if (
        err instanceof NoSuchKey ||
        (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
      )
        return undefined;
      throw err;
    }
  }

  async write(path: string, text: string): Promise<void> {
    const ext = path.slice(path.lastIndexOf(".") + 1);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.key(path),
        Body: text,
        ContentType: CONTENT_TYPES[ext] ?? "application/octet-stream",
      }),
    );
  }

  async remove(path: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
  }

  async cleanup(): Promise<void> {}

  async close(): Promise<void> {
    this.client.destroy();
  }
}
