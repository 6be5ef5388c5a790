import { doc } from "@varstream/shared";
import { z } from "zod";
import { sinkConfig } from "../config.ts";

export const FILE_FORMATS = ["json", "yaml", "env", "properties"] as const;

export const FileSinkConfig = sinkConfig({
  path: doc(z.string().min(1), "the folder every destination's file is written under", "/var/lib/varstream/out"),
  format: doc(
    z.enum(FILE_FORMATS).default("json"),
    "how a destination's file is rendered: json, yaml, env or properties",
  ),
});
export type FileSinkConfig = z.infer<typeof FileSinkConfig>;
