import { defineSink } from "../descriptor.ts";
import { SshSinkConfig } from "./config.ts";
import { SshSink } from "./ssh-sink.ts";

export const ssh = defineSink({
  kind: "ssh",
  summary: "the file sink's files on a remote host over SFTP, with validate and reload commands",
  config: SshSinkConfig,
  connect: (name, config, deps) => SshSink.connect(name, config, deps),
});
