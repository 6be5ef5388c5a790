import type { GitRepo } from "./git-repo.ts";

/**
 * The smallest bundle document a pipeline test needs: the repository's file:// platform, one `file`
 * sink named `file` under `path` (default `<repo root>/out`), and a rule syncing `app.json`.
 */
export function fileSinkBundle(
  repo: GitRepo,
  options: { path?: string; destinationTemplate?: string } = {},
): { bundle: Record<string, unknown> } {
  return {
    bundle: {
      platforms: [{ github: { endpoint: repo.endpoint, insecure_skip_signature: true } }],
      datasources: [{ file: { path: options.path ?? `${repo.root}/out` } }],
      rules: [
        {
          platform: "github",
          datasource: "file",
          file_name: "app.json",
          prune: true,
          ...(options.destinationTemplate ? { destination_template: options.destinationTemplate } : {}),
        },
      ],
    },
  };
}
