export { rebuildSink, replayGroup } from "./commands/replay.ts";
export { ApiClient } from "./commands/tasks.ts";
export { describeTopics } from "./commands/topics.ts";
export { validateFile } from "./commands/validate.ts";
export { main } from "./main.ts";
