import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "packages/*/test/**/*.test.ts",
      "packages/*/src/**/*.test.ts",
      "services/*/test/**/*.test.ts",
      "test/**/*.test.ts",
      "bench/**/*.test.ts",
    ],
    // test/cluster needs the three-broker Kafka of the test command's cluster lane (KAFKA_CLUSTER=1).
    // test/chaos runs alone after the first lane (VARSTREAM_CHAOS=1): its stack of processes wants the cores.
    // test/image runs the services from the built image (VARSTREAM_IMAGE_TEST=1, after `infra/image/image.sh build`).
    // test/kube wants a Kubernetes API server (VARSTREAM_KUBECONFIG: scripts/test.sh's kube lane, infra/kube).
    exclude: [
      "**/node_modules/**",
      ...(process.env.KAFKA_CLUSTER === "1" ? [] : ["test/cluster/**"]),
      ...(process.env.VARSTREAM_CHAOS === "1" ? [] : ["test/chaos/**"]),
      ...(process.env.VARSTREAM_IMAGE_TEST === "1" ? [] : ["test/image/**"]),
      ...(process.env.VARSTREAM_KUBECONFIG ? [] : ["test/kube/**"]),
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests share one broker and one Redis; two files at a time suit a 2-core machine.
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ["default"],
  },
});
