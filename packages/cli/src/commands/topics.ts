import { createLogger, openKafka, type Settings, topicNames } from "@varstream/shared";

export interface TopicsReport {
  topics: { topic: string; partitions: number; messages: number }[];
  lag: { group: string; lag: number }[];
}

/** `varstream topics`: the pipeline's topics and the lag of each consumer group on its input. */
export async function describeTopics(settings: Settings, sinks: string[]): Promise<TopicsReport> {
  const { kafka } = await openKafka(settings, createLogger("cli", "warn"), { waitMs: 5000 });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const names = topicNames(settings.topicPrefix);
    const existing = new Set(await admin.listTopics());
    const wanted = [names.webhooks, names.webhooksRetry, names.keysets, names.status].filter((t) => existing.has(t));
    const topics = [];
    const highs = new Map<string, Map<number, number>>();
    for (const topic of wanted) {
      const offsets = await admin.fetchTopicOffsets(topic);
      highs.set(topic, new Map(offsets.map((o) => [o.partition, Number(o.high)])));
      topics.push({
        topic,
        partitions: offsets.length,
        messages: offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0),
      });
    }
    const groups: [string, string][] = [
      [`${settings.topicPrefix}etl`, names.webhooks],
      ...sinks.map((s): [string, string] => [`${settings.topicPrefix}sink.${s}`, names.keysets]),
    ];
    const lag = [];
    for (const [group, topic] of groups) {
      const high = highs.get(topic);
      if (!high) continue;
      const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      let total = 0;
      for (const p of committed[0]?.partitions ?? []) {
        const h = high.get(p.partition) ?? 0;
        const at = Math.max(0, Number(p.offset));
        total += Math.max(0, h - at);
      }
      lag.push({ group, lag: total });
    }
    return { topics, lag };
  } finally {
    await admin.disconnect();
  }
}
