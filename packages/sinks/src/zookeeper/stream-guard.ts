import zookeeper from "node-zookeeper-client";

type Client = ReturnType<typeof zookeeper.createClient>;

/** The library's CONNECTION_LOSS exception (its typings omit the factory). */
const connectionLoss = (): Error =>
  (zookeeper.Exception as unknown as { create(code: number): Error }).create(zookeeper.Exception.CONNECTION_LOSS);

interface Packet {
  callback?: (err: Error, response?: unknown) => void;
}

/** The parts of node-zookeeper-client's (untyped) ConnectionManager the guard touches. */
interface ConnectionManager {
  pendingBuffer: Buffer | null;
  pendingQueue: Packet[];
  socket?: { destroy(): void };
  onSocketData(buffer: Buffer): void;
  onSocketConnected(): void;
}

/**
 * node-zookeeper-client 1.1.3 keeps the unparsed tail of a response across reconnects: a connection cut
 * in the middle of a frame leaves bytes that the next connection's data is appended to, the frames no
 * longer line up, and the parser throws ("Unknown code: 430964775") from a socket event — an uncaught
 * exception that kills the process. This starts every connection with an empty buffer, and turns a
 * parse failure into a dropped connection, which the client reconnects as it does for any other. The
 * request whose answer failed to parse was already taken off the client's queue: it is failed with
 * CONNECTION_LOSS here (the client fails the rest of the queue when the socket closes), so no apply
 * waits for an answer that never comes.
 * Must run before `connect()`: the client binds `onSocketData` when it opens a socket.
 */
export function guardResponseStream(client: Client, onError: (err: Error) => void): void {
  const manager = (client as unknown as { connectionManager?: ConnectionManager }).connectionManager;
  if (!manager) return;
  const onData = manager.onSocketData;
  const onConnected = manager.onSocketConnected;
  manager.onSocketConnected = function (this: ConnectionManager) {
    this.pendingBuffer = null;
    onConnected.call(this);
  };
  manager.onSocketData = function (this: ConnectionManager, buffer: Buffer) {
    const head = this.pendingQueue[0];
    try {
      onData.call(this, buffer);
    } catch (err) {
      this.pendingBuffer = null;
      this.socket?.destroy();
      onError(err as Error);
      if (head && !this.pendingQueue.includes(head)) {
        head.callback?.(connectionLoss());
      }
    }
  };
}
