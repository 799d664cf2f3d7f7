import { type Attributes, failSpan, type Histogram, type Meter, metricNames, type Tracer } from "@twelvefold/kernel";

/** Prometheus name of the query duration histogram (OpenTelemetry's `db.client.operation.duration`). */
export const QUERY_DURATION = "db_client_operation_duration_seconds";

/** Buckets in seconds for queries: a primary-key lookup takes a fraction of a millisecond. */
export const queryBuckets: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Where the queries go, for span attributes. */
export interface QueryTarget {
  /** `db.namespace`: the database name. */
  readonly namespace: string;
  readonly serverAddress?: string;
  readonly serverPort?: number;
}

/** How busy the connections are, as the Meter and the health check report them. */
export interface PoolFigures {
  /** Connections the pool may open. */
  readonly max: number;
  /** Connections running a query or holding a transaction. */
  readonly busy: number;
  /** Connections free for the next query (open or not yet opened). */
  readonly idle: number;
  /** Queries and transactions waiting for a connection. */
  readonly waiting: number;
}

interface Described {
  readonly operation: string;
  readonly spanName: string;
  readonly collection: string | undefined;
}

const MAX_DESCRIBED = 512;
// The first table named after FROM, INTO, UPDATE, JOIN or TABLE, quoted or not, schema dropped.
const tableAfter = /\b(?:from|into|update|join|table)\s+(?:(?:"[^"]+"|[a-z_][\w$]*)\.)?(?:"([^"]+)"|([a-z_][\w$]*))/i;

/**
 * Watches every query of one Database: a span per query when a Tracer is registered, its
 * duration in a histogram when a Meter is, and the counts behind the pool figures and the wait
 * at stop. The query text goes to the span as drizzle built it, with `$1` placeholders: parameter
 * values never leave the driver.
 */
export class QueryInstruments {
  readonly #target: QueryTarget;
  readonly #max: number;
  readonly #described = new Map<string, Described>();
  #tracer: Tracer | undefined;
  #histogram: Histogram | undefined;
  /** Statements running outside a transaction, and transactions open (each holds a connection). */
  #statements = 0;
  #transactions = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(target: QueryTarget, max: number) {
    this.#target = target;
    this.#max = max;
  }

  /** Instruments for another client of the same database (a dedicated connection): same tracer and meter, own counts. */
  fork(max: number): QueryInstruments {
    const forked = new QueryInstruments(this.#target, max);
    forked.#tracer = this.#tracer;
    forked.#histogram = this.#histogram;
    return forked;
  }

  /** Starts tracing queries (the Tracer is optional at start). */
  useTracer(tracer: Tracer | undefined): void {
    this.#tracer = tracer;
  }

  /** Registers the duration histogram and the pool gauges (the Meter is looked up once the app is ready). */
  useMeter(meter: Meter | undefined): void {
    if (!meter) return;
    this.#histogram = meter.histogram({
      name: QUERY_DURATION,
      help: "Time to run database queries, by operation (SELECT, INSERT, ...) and outcome (ok or error), in seconds.",
      labelNames: ["operation", "outcome"],
      buckets: queryBuckets,
    });
    meter.gauge({
      name: metricNames.dbPoolConnections,
      help: "Database pool connections, by state (busy, idle, max).",
      labelNames: ["state"],
      collect: (gauge) => {
        const figures = this.pool();
        gauge.set({ state: "busy" }, figures.busy);
        gauge.set({ state: "idle" }, figures.idle);
        gauge.set({ state: "max" }, figures.max);
      },
    });
    meter.gauge({
      name: "db_pool_waiting",
      help: "Database queries and transactions waiting for a free pool connection.",
      collect: (gauge) => gauge.set(undefined, this.pool().waiting),
    });
  }

  /** The pool figures now. postgres.js exposes no counts, so they derive from the work in flight. */
  pool(): PoolFigures {
    const demand = this.#statements + this.#transactions;
    const busy = Math.min(this.#max, demand);
    return { max: this.#max, busy, idle: this.#max - busy, waiting: demand - busy };
  }

  /** Statements and transactions in flight. */
  get inFlight(): number {
    return this.#statements + this.#transactions;
  }

  /**
   * Marks a statement as started; call the returned function once it settles, with its error if
   * it failed. Statements inside a transaction do not count against the pool (the transaction does).
   */
  query(text: string, inTransaction: boolean): (error?: unknown) => void {
    const tracer = this.#tracer;
    const histogram = this.#histogram;
    if (!inTransaction) this.#statements++;
    const began = histogram ? performance.now() : 0;
    let described: Described | undefined;
    let span: ReturnType<Tracer["startSpan"]> | undefined;
    if (tracer) {
      described = this.#describe(text);
      span = tracer.startSpan(described.spanName, { kind: "client", attributes: this.#attributes(text, described) });
    }
    let settled = false;
    return (error?: unknown) => {
      if (settled) return;
      settled = true;
      if (!inTransaction) {
        this.#statements--;
        this.#wakeIfIdle();
      }
      if (histogram) {
        described ??= this.#describe(text);
        histogram.observe(
          { operation: described.operation, outcome: error === undefined ? "ok" : "error" },
          (performance.now() - began) / 1000,
        );
      }
      if (span) {
        if (error !== undefined) {
          const sqlState = (error as { sqlState?: unknown }).sqlState;
          if (typeof sqlState === "string") span.setAttribute("db.response.status_code", sqlState);
          failSpan(span, error);
        }
        span.end();
      }
    };
  }

  /** Marks a transaction as holding a connection; call the returned function when it ends. */
  transaction(): () => void {
    this.#transactions++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#transactions--;
      this.#wakeIfIdle();
    };
  }

  /** Resolves once nothing is in flight, or when `signal` aborts (then with false). */
  idle(signal: AbortSignal): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => resolve(false);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#idleWaiters.push(() => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      });
    });
  }

  #wakeIfIdle(): void {
    if (this.inFlight !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  #attributes(text: string, described: Described): Attributes {
    return {
      "db.system.name": "postgresql",
      "db.namespace": this.#target.namespace,
      "db.operation.name": described.operation,
      "db.collection.name": described.collection,
      "db.query.text": text,
      "server.address": this.#target.serverAddress,
      "server.port": this.#target.serverPort,
    };
  }

  #describe(text: string): Described {
    let described = this.#described.get(text);
    if (described) return described;
    const trimmed = text.trimStart();
    const space = trimmed.search(/\s/);
    const operation = (space === -1 ? trimmed : trimmed.slice(0, space)).toUpperCase() || "QUERY";
    const match = tableAfter.exec(trimmed);
    const collection = match?.[1] ?? match?.[2];
    described = { operation, collection, spanName: collection ? `${operation} ${collection}` : operation };
    // Texts are mostly the app's few query shapes; a bound keeps ad hoc SQL from growing the map.
    if (this.#described.size >= MAX_DESCRIBED) this.#described.clear();
    this.#described.set(text, described);
    return described;
  }
}
