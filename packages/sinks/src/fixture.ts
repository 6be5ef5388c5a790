import type { Scope } from "@varstream/shared";

/**
 * How the shared sink tests (contract, outage, docs, and the end-to-end kill -9 test) reach a sink's
 * real store. Every sink folder has a `fixture.ts` exporting one as `fixture`; the tests load it by
 * kind from the registry, so a sink without one fails them. Test support only: nothing in varstream
 * imports it.
 */
export interface SinkFixture {
  /**
   * A store for one test file — a configuration of the sink against the test server (or a folder of
   * its own, or a server started for it) and a view of the store as its users see it.
   */
  open(options?: OpenOptions): Promise<OpenStore>;
  /** configuration variants the contract also runs against (layouts, encodings), by name */
  readonly variants?: Record<string, Record<string, unknown>>;
  /** how the outage test cuts the sink off its server; absent when there is no connection to cut */
  readonly outage?: OutageSpec;
}

export interface OpenOptions {
  /** one of `variants` */
  variant?: string;
  /**
   * puts something in front of the server: given its port, answers the port the sink must use
   * instead (a CutProxy); the view still reads the server directly
   */
  via?: (port: number) => Promise<number>;
  /** nothing but this store's own writes is visible in it (a shared server gets a database of its own) */
  isolated?: boolean;
}

export interface OpenStore {
  /** the datasource configuration (as a bundle would hold it) */
  config: Record<string, unknown>;
  view: StoreView;
  /** files a cut-off write left behind (none, once restored), where the store has such files */
  leftovers?(): Promise<string[]>;
  close(): Promise<void>;
}

/** The store as somebody other than varstream sees it. */
export interface StoreView {
  /** the keys at a destination, key → text */
  read(destination: string): Promise<Record<string, string>>;
  /** writes a key the way somebody other than varstream would, straight into the store */
  plant(destination: string, key: string, value: string): Promise<void>;
  /** the task id of a scope's manifest, read straight from the store */
  manifestTask(scope: Scope): Promise<string | undefined>;
  /** a destination as the store's own tool prints it: the output block of the README's example */
  show(destination: string): Promise<string>;
}

export interface OutageSpec {
  /** true when one apply is one transaction: even mid-cut, the store shows the old state whole */
  atomic: boolean;
  /** where the cut falls (default: at a marker in the new manifest's task id, sent last) */
  afterBytes?: number;
  /** larger values, so that a cut by byte count falls inside the data */
  big?: boolean;
  /** checks, while the server is away, that the cut fell inside the apply (where that can be seen) */
  midway?(view: StoreView, scope: Scope, taskId: string): Promise<void>;
}
