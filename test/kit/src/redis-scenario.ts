import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { GitRepo } from "./git-repo.ts";
import { githubPushPayload, githubRequest } from "./github.ts";
import { Pipeline, TEST_REDIS_PORT } from "./pipeline.ts";

/**
 * The usual end-to-end setup: a repository, the whole pipeline with one GitHub platform and the test
 * Redis as datasource `redis`, and a Redis client. `rule` gets a destination unique to this scenario.
 */
export class RedisScenario {
  readonly repo: GitRepo;
  readonly pipeline: Pipeline;
  readonly redis: Redis;
  readonly dest: string;

  private constructor(repo: GitRepo, pipeline: Pipeline, redis: Redis, dest: string) {
    this.repo = repo;
    this.pipeline = pipeline;
    this.redis = redis;
    this.dest = dest;
  }

  static async start(name: string, rule: (dest: string) => Record<string, unknown>): Promise<RedisScenario> {
    const dest = `${name}-${randomUUID().slice(0, 8)}`;
    const repo = await GitRepo.create(`acme/${name}`);
    const redis = new Redis({ port: TEST_REDIS_PORT });
    const pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: repo.endpoint, insecure_skip_signature: true } }],
          datasources: [{ redis: { port: TEST_REDIS_PORT } }],
          rules: [{ platform: "github", datasource: "redis", prune: true, ...rule(dest) }],
        },
      },
    });
    return new RedisScenario(repo, pipeline, redis, dest);
  }

  /** Commits `files` and posts the push; returns the task id (the webhook must be accepted). */
  async push(files: Record<string, string | null>): Promise<string> {
    const commit = await this.repo.commit(files);
    return this.post(commit);
  }

  /** Posts the push webhook of an existing commit; returns the task id. */
  async post(commit: Awaited<ReturnType<GitRepo["commit"]>>): Promise<string> {
    const res = await this.pipeline.post("redis", githubRequest(githubPushPayload(this.repo, commit)));
    if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.task_id;
  }

  async stop(): Promise<void> {
    await this.pipeline?.stop();
    this.redis?.disconnect();
    await this.repo?.cleanup();
  }
}
