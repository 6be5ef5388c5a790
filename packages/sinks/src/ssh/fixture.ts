import { readdir } from "node:fs/promises";
import { Sshd } from "@varstream/testkit";
import { fileView } from "../file/fixture.ts";
import type { SinkFixture } from "../fixture.ts";

/** An OpenSSH server of its own per store (Debian's sshd on a free port), its remote folder a local one. */
export const fixture: SinkFixture = {
  outage: {
    // SSH is encrypted, so the cut falls by count: the manifest file (~25 kB, written first) is through,
    // the data file (~64 kB) is not; the old .env stays whole, the new one is renamed over it when complete.
    atomic: true,
    afterBytes: 50_000,
    big: true,
    // The manifest file went first and names the new task: the data upload is what the cut broke.
    midway: async (view, scope, taskId) => {
      if ((await view.manifestTask(scope)) !== taskId) throw new Error("the cut fell before the manifest file");
    },
  },
  async open(options = {}) {
    const sshd = await Sshd.start();
    const port = options.via ? await options.via(sshd.port) : sshd.port;
    const view = fileView(sshd.remote, "env", (d, text) => `$ cat /etc/checkout/${d}.env\n${text}`);
    return {
      config: {
        host: "127.0.0.1",
        port,
        username: "root",
        private_key: sshd.clientKey,
        host_key_sha256: sshd.hostKeySha256,
        path: sshd.remote,
        format: "env",
      },
      view,
      leftovers: async () => (await readdir(sshd.remote)).filter((name) => name.endsWith(".tmp")),
      close: async () => sshd.stop(),
    };
  },
};
