/**
 * Warms a fresh broker up before the suite (scripts/test.sh) or the quick start (scripts/start.sh): the first consumer group and the first transaction
 * make Kafka create `__consumer_offsets` and `__transaction_state` (50 partitions each), which on a
 * loaded machine can take longer than a test's setup may. Usage: node scripts/warm-kafka.ts <brokers>
 */
import kafkajs from "kafkajs";

const { Kafka, logLevel } = kafkajs;
const brokers = (process.argv[2] ?? "127.0.0.1:9092").split(",");
const topic = "__varstream_warm_up";
const kafka = new Kafka({ brokers, clientId: "warm-up", logLevel: logLevel.NOTHING });

const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
await admin.disconnect();

const producer = kafka.producer({ transactionalId: "varstream-warm-up", idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
const txn = await producer.transaction();
await txn.send({ topic, messages: [{ value: "warm" }] });
await txn.commit();
await producer.disconnect();

const consumer = kafka.consumer({ groupId: "varstream-warm-up" });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await new Promise<void>((resolve) => {
  void consumer.run({ eachMessage: async () => resolve() });
});
await consumer.disconnect();
console.log(`kafka ${brokers.join(",")}: warmed up (consumer offsets and transaction state ready)`);
