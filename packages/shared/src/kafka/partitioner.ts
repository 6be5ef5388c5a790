import { type ICustomPartitioner, Partitioners } from "kafkajs";
import { taskIdOfStatusKey } from "../contracts/status.ts";

/**
 * kafkajs' default (murmur2, Java-compatible) partitioner, except that `status` records are hashed on
 * their task id only, so every report of one task lands on one partition (SPEC §1.1).
 */
export function varstreamPartitioner(statusTopic: string): ICustomPartitioner {
  return () => {
    const base = Partitioners.DefaultPartitioner();
    return (args) => {
      if (args.topic !== statusTopic || args.message.key === null || args.message.key === undefined) {
        return base(args);
      }
      const key = taskIdOfStatusKey(args.message.key.toString());
      return base({ ...args, message: { ...args.message, key } });
    };
  };
}
