// Exits 0 when the broker at argv[2] answers the admin API (describe cluster) with a controller and at
// least argv[3] (default 1) brokers.
import { Kafka, logLevel } from "kafkajs";

const kafka = new Kafka({
  clientId: "varstream-wait-ready",
  brokers: [process.argv[2] ?? "127.0.0.1:9092"],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
  retry: { retries: 0 },
});
const admin = kafka.admin();
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  if (cluster.brokers.length < Number(process.argv[3] ?? 1) || cluster.controller === null) process.exit(1);
  process.exit(0);
} catch {
  process.exit(1);
} finally {
  await admin.disconnect().catch(() => {});
}
