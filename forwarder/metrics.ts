// A small Prometheus registry: counters, gauges and histograms with labels,
// rendered in the text exposition format. Written here rather than taken
// from prom-client because the forwarder needs a dozen series and a
// dependency-free bundle.

type Labels = Record<string, string>;

const keyOf = (labels: Labels): string =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, '\\$&')}"`)
    .join(',');

abstract class Metric {
  readonly name: string;
  readonly help: string;
  abstract readonly type: string;
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  abstract lines(): string[];
  render(): string {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} ${this.type}`,
      ...this.lines(),
    ].join('\n');
  }
}

/** A monotonically increasing count, per label set. */
export class Counter extends Metric {
  readonly type = 'counter';
  readonly #values = new Map<string, number>();
  inc(labels: Labels = {}, by = 1): void {
    const key = keyOf(labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }
  /** The current value for these labels (tests and the benchmark read it). */
  get(labels: Labels = {}): number {
    return this.#values.get(keyOf(labels)) ?? 0;
  }
  /** The sum over every label set. */
  total(): number {
    let sum = 0;
    for (const v of this.#values.values()) sum += v;
    return sum;
  }
  lines(): string[] {
    if (this.#values.size === 0) return [`${this.name} 0`];
    return [...this.#values].map(([k, v]) =>
      k ? `${this.name}{${k}} ${v}` : `${this.name} ${v}`
    );
  }
}

/** A value that goes up and down, per label set. */
export class Gauge extends Metric {
  readonly type = 'gauge';
  readonly #values = new Map<string, number>();
  set(value: number, labels: Labels = {}): void {
    this.#values.set(keyOf(labels), value);
  }
  get(labels: Labels = {}): number {
    return this.#values.get(keyOf(labels)) ?? 0;
  }
  lines(): string[] {
    if (this.#values.size === 0) return [`${this.name} 0`];
    return [...this.#values].map(([k, v]) =>
      k ? `${this.name}{${k}} ${v}` : `${this.name} ${v}`
    );
  }
}

/** Observations bucketed by upper bound (no labels: none needed here). */
export class Histogram extends Metric {
  readonly type = 'histogram';
  readonly #bounds: number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;
  constructor(name: string, help: string, bounds: number[]) {
    super(name, help);
    this.#bounds = [...bounds].sort((a, b) => a - b);
    this.#counts = this.#bounds.map(() => 0);
  }
  observe(value: number): void {
    this.#sum += value;
    this.#count += 1;
    for (let i = 0; i < this.#bounds.length; i++) {
      if (value <= (this.#bounds[i] ?? 0)) {
        this.#counts[i] = (this.#counts[i] ?? 0) + 1;
        break;
      }
    }
  }
  get count(): number {
    return this.#count;
  }
  get sum(): number {
    return this.#sum;
  }
  lines(): string[] {
    let cumulative = 0;
    const out = this.#bounds.map((b, i) => {
      cumulative += this.#counts[i] ?? 0;
      return `${this.name}_bucket{le="${b}"} ${cumulative}`;
    });
    out.push(`${this.name}_bucket{le="+Inf"} ${this.#count}`);
    out.push(`${this.name}_sum ${this.#sum}`);
    out.push(`${this.name}_count ${this.#count}`);
    return out;
  }
}

/**
 * Every series the forwarder exports, prefixed `pullmedic_forwarder_`.
 *
 * @example
 * ```ts
 * const metrics = new ForwarderMetrics();
 * metrics.forwarded.inc();
 * res.end(metrics.render());
 * ```
 */
export class ForwarderMetrics {
  readonly received = new Counter(
    'pullmedic_forwarder_events_received_total',
    'Watch and list notifications received, by outcome (queued, duplicate, too_old, filtered).'
  );
  readonly forwarded = new Counter(
    'pullmedic_forwarder_events_forwarded_total',
    'Entries EventBridge accepted.'
  );
  readonly failed = new Counter(
    'pullmedic_forwarder_events_failed_total',
    'Entries given up on after the last attempt, by error code.'
  );
  readonly shed = new Counter(
    'pullmedic_forwarder_events_shed_total',
    'Entries dropped from the full queue, by priority class (never silently: each is logged).'
  );
  readonly coalesced = new Counter(
    'pullmedic_forwarder_events_coalesced_total',
    'Queued entries replaced by a newer count of the same event before they were sent.'
  );
  readonly truncated = new Counter(
    'pullmedic_forwarder_events_truncated_total',
    'Entries whose message was cut to fit 256 KB.'
  );
  readonly retries = new Counter(
    'pullmedic_forwarder_put_retries_total',
    'Entries sent again after a failed PutEvents call or entry.'
  );
  readonly putCalls = new Counter(
    'pullmedic_forwarder_put_events_calls_total',
    'PutEvents calls made, by outcome (ok, partial, error).'
  );
  readonly watchRestarts = new Counter(
    'pullmedic_forwarder_watch_restarts_total',
    'Watch or informer restarts, by reason (expired, error, closed).'
  );
  readonly relists = new Counter(
    'pullmedic_forwarder_relists_total',
    'Full lists of events (first sync and after 410 Gone).'
  );
  readonly checkpoints = new Counter(
    'pullmedic_forwarder_checkpoints_total',
    'Checkpoint writes, by outcome.'
  );
  readonly queueDepth = new Gauge(
    'pullmedic_forwarder_queue_depth',
    'Entries waiting in the bounded queue.'
  );
  readonly inFlight = new Gauge(
    'pullmedic_forwarder_in_flight',
    'Entries handed to the sink and not yet settled.'
  );
  readonly leader = new Gauge(
    'pullmedic_forwarder_leader',
    '1 while this replica holds the Lease.'
  );
  readonly batchSize = new Histogram(
    'pullmedic_forwarder_batch_size',
    'Entries per PutEvents call.',
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  );
  readonly lag = new Histogram(
    'pullmedic_forwarder_lag_seconds',
    'From the event lastTimestamp (or eventTime) to EventBridge accepting it.',
    [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800]
  );

  render(): string {
    return `${[
      this.received,
      this.forwarded,
      this.failed,
      this.shed,
      this.coalesced,
      this.truncated,
      this.retries,
      this.putCalls,
      this.watchRestarts,
      this.relists,
      this.checkpoints,
      this.queueDepth,
      this.inFlight,
      this.leader,
      this.batchSize,
      this.lag,
    ]
      .map((m) => m.render())
      .join('\n')}\n`;
  }
}
