import { readFile } from "node:fs/promises";
import { PLATFORMS, type Platform } from "@varstream/platforms";
import type { DryRunReport } from "@varstream/shared";
import { authHeader } from "./tasks.ts";

export interface DryRunOptions {
  base: string;
  datasource: string;
  payloadFile: string;
  platform: Platform;
  event: string;
  /** signs the payload (or sends the GitLab token) when the platform has a secret */
  secret?: string;
}

/** `varstream dry-run`: posts a webhook payload to the dry-run endpoint. */
export async function dryRun(
  options: DryRunOptions,
): Promise<DryRunReport & { error?: { code: string; message: string } }> {
  const body = await readFile(options.payloadFile);
  const headers = {
    "content-type": "application/json",
    ...authHeader(),
    ...PLATFORMS[options.platform].sign(body, { eventName: options.event, deliveryId: undefined }, options.secret),
  };
  const res = await fetch(`${options.base}/v1/webhooks/${encodeURIComponent(options.datasource)}/dry-run`, {
    method: "POST",
    headers,
    body,
  });
  const json = (await res.json()) as DryRunReport & { error?: { code: string; message: string } };
  if (!res.ok) throw new Error(json.error ? `${json.error.code}: ${json.error.message}` : `HTTP ${res.status}`);
  return json;
}

/** The report as a diff a person reads. */
export function diffText(report: DryRunReport): string {
  const lines = [report.message];
  for (const f of report.files) {
    lines.push(`file ${f.path}${f.env ? ` (env ${f.env})` : ""}: ${f.keys} keys, validation ${f.validation.status}`);
    for (const e of f.validation.errors) lines.push(`  ! ${e.path || "(root)"}: ${e.message}`);
  }
  for (const [sink, { scopes }] of Object.entries(report.sinks ?? {})) {
    for (const s of scopes) {
      lines.push(`sink ${sink} ${s.scope}`);
      for (const k of s.set)
        lines.push(k.old === undefined ? `  + ${k.key}: ${k.new}` : `  ~ ${k.key}: ${k.old} → ${k.new}`);
      for (const k of s.pruned) lines.push(`  - ${k}`);
      lines.push(`  = ${s.unchanged} unchanged`);
    }
  }
  return lines.join("\n");
}

/** The command's exit code: 0 nothing would change, 1 something would, 2 a file fails validation. */
export function dryRunExit(report: DryRunReport): 0 | 1 | 2 {
  if (report.files.some((f) => f.validation.status === "failed")) return 2;
  const scopes = Object.values(report.sinks ?? {}).flatMap((s) => s.scopes);
  return scopes.some((s) => s.set.length > 0 || s.pruned.length > 0) ? 1 : 0;
}
