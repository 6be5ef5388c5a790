import { type ICustomPartitioner, Partitioners } from "kafkajs";
import { destinationPrefix } from "../contracts/keyset.ts";
import { taskIdOfStatusKey } from "../contracts/status.ts";

/**
 * kafkajs' default (murmur2, Java-compatible) partitioner, hashing on part of the key for two topics:
 * `status` records on their task id, so every report of one task lands on one partition;
 * `keysets` records on `<datasource>|<destination>|`, so every scope of one destination lands on one
 * partition and one sink writer applies them in turn (two files feeding one file sink never race).
 */
export function varstreamPartitioner(topics: { status: string; keysets: string }): ICustomPartitioner {
  return () => {
    const base = Partitioners.DefaultPartitioner();
    return (args) => {
      const key = args.message.key;
      if (key === null || key === undefined) return base(args);
      if (args.topic === topics.status) {
        return base({ ...args, message: { ...args.message, key: taskIdOfStatusKey(key.toString()) } });
      }
      if (args.topic === topics.keysets) {
        return base({ ...args, message: { ...args.message, key: destinationPrefix(key.toString()) } });
      }
      return base(args);
    };
  };
}
