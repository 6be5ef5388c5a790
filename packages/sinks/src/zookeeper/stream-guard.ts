import type zookeeper from "node-zookeeper-client";

type Client = ReturnType<typeof zookeeper.createClient>;

/** The parts of node-zookeeper-client's (untyped) ConnectionManager the guard touches. */
interface ConnectionManager {
  pendingBuffer: Buffer | null;
  socket?: { destroy(): void };
  onSocketData(buffer: Buffer): void;
  onSocketConnected(): void;
}

/**
 * node-zookeeper-client 1.1.3 keeps the unparsed tail of a response across reconnects: a connection cut
 * in the middle of a frame leaves bytes that the next connection's data is appended to, the frames no
 * longer line up, and the parser throws ("Unknown code: 430964775") from a socket event — an uncaught
 * exception that kills the process. This starts every connection with an empty buffer, and turns a
 * parse failure into a dropped connection, which the client reconnects as it does for any other.
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
    try {
      onData.call(this, buffer);
    } catch (err) {
      this.pendingBuffer = null;
      this.socket?.destroy();
      onError(err as Error);
    }
  };
}
