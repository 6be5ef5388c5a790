import type { FileReport } from "./status.ts";

/** What one scope's apply would do: keys set (old → new, masked where sensitive), pruned. */
export interface DryRunScope {
  scope: string;
  set: { key: string; old?: string; new: string }[];
  unchanged: number;
  pruned: string[];
}

/** The answer of `POST /v1/webhooks/<datasource>/dry-run`: nothing published, nothing written. */
export interface DryRunReport {
  task_id: string;
  dry_run: true;
  outcome: string;
  message: string;
  files: (FileReport & { env?: string })[];
  sinks: Record<string, { scopes: DryRunScope[] }>;
  warnings: string[];
}
