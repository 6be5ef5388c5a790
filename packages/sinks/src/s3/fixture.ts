import { randomUUID } from "node:crypto";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { canonicalText, type Scope, scopeKey } from "@varstream/shared";
import { FORMATS } from "../file/formats.ts";
import type { SinkFixture, StoreView } from "../fixture.ts";

const PORT = Number(process.env.S3_PORT ?? 37070);
/** the root user's keys of the test server (infra/s3/s3.sh's defaults) */
const KEYS = { accessKeyId: "varstream", secretAccessKey: "varstream-secret" };

/** The test S3 server (S3_PORT, versitygw), a bucket of its own per store. */
export const fixture: SinkFixture = {
  // The manifest object (~25 kB, written first) is through when the cut falls inside the data object's
  // PUT (~64 kB): the old object stays whole, as S3 never shows half an object.
  outage: {
    atomic: true,
    afterBytes: 50_000,
    big: true,
    midway: async (view, scope, taskId) => {
      if ((await view.manifestTask(scope)) !== taskId) throw new Error("the cut fell before the manifest object");
    },
  },
  async open(options = {}) {
    const bucket = `vs-${randomUUID().slice(0, 8)}`;
    const endpoint = `http://127.0.0.1:${PORT}`;
    const direct = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: KEYS });
    await direct.send(new CreateBucketCommand({ Bucket: bucket }));
    const port = options.via ? await options.via(PORT) : PORT;
    const { read, render } = FORMATS.json;
    const get = async (key: string) => {
      try {
        const res = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return await res.Body?.transformToString("utf8");
      } catch {
        return undefined;
      }
    };
    const data = async (d: string) => {
      const text = await get(`${d}.json`);
      return text === undefined ? {} : read(text);
    };
    const view: StoreView = {
      read: async (d) => Object.fromEntries(Object.entries(await data(d)).map(([k, v]) => [k, canonicalText(v)])),
      plant: async (d, k, v) =>
        void (await direct.send(
          new PutObjectCommand({ Bucket: bucket, Key: `${d}.json`, Body: render({ ...(await data(d)), [k]: v }) }),
        )),
      manifestTask: async (scope: Scope) => {
        const text = await get(`.varstream/${scope.destination}.manifest.json`);
        if (text === undefined) return undefined;
        return (JSON.parse(text) as { scopes: Record<string, { task_id: string }> }).scopes[scopeKey(scope)]?.task_id;
      },
      // the object as `aws s3 cp` prints it, bucket `config`
      show: async (d) => `$ aws s3 cp s3://config/${d}.json -\n${(await get(`${d}.json`)) ?? ""}`,
    };
    return {
      config: {
        bucket,
        endpoint: `http://127.0.0.1:${port}`,
        access_key_id: KEYS.accessKeyId,
        secret_access_key: KEYS.secretAccessKey,
        format: "json",
      },
      view,
      close: async () => {
        const listed = await direct.send(new ListObjectsV2Command({ Bucket: bucket })).catch(() => undefined);
        for (const o of listed?.Contents ?? [])
          await direct.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key! })).catch(() => undefined);
        direct.destroy();
      },
    };
  },
};
