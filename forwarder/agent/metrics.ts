import { Counter, Gauge, Histogram } from '../metrics.ts';

/**
 * Every series the cluster agent exports, prefixed `pullmedic_agent_`.
 * The sink's counters (putCalls, batchSize, retries) have the names
 * EventBridgeSink reports to.
 *
 * @example
 * ```ts
 * const metrics = new AgentMetrics();
 * metrics.restarts.inc({ outcome: 'restarted' });
 * res.end(metrics.render());
 * ```
 */
export class AgentMetrics {
  readonly requests = new Counter(
    'pullmedic_agent_requests_total',
    'Pod Restart Requested messages handled, by outcome (done, malformed, unpublished).'
  );
  readonly restarts = new Counter(
    'pullmedic_agent_pods_total',
    'Pods a request named, by outcome (restarted, or the skip reason).'
  );
  readonly receiveErrors = new Counter(
    'pullmedic_agent_receive_errors_total',
    'ReceiveMessage calls that failed (the loop backs off and tries again).'
  );
  readonly sweeps = new Counter(
    'pullmedic_agent_sweeps_total',
    'Sweeps of the pods, by outcome (ok, error).'
  );
  readonly stuck = new Gauge(
    'pullmedic_agent_stuck_pulls',
    'Containers waiting in ImagePullBackOff or ErrImagePull at the last sweep.'
  );
  readonly reported = new Counter(
    'pullmedic_agent_sweep_reported_total',
    'Stuck pulls the sweep put on the bus (each at most once per quiet period).'
  );
  readonly published = new Counter(
    'pullmedic_agent_events_published_total',
    'Entries EventBridge accepted, by detail-type.'
  );
  readonly publishFailed = new Counter(
    'pullmedic_agent_events_failed_total',
    'Entries EventBridge did not take after the last attempt, by error code.'
  );
  readonly putCalls = new Counter(
    'pullmedic_agent_put_events_calls_total',
    'PutEvents calls made, by outcome (ok, partial, error).'
  );
  readonly retries = new Counter(
    'pullmedic_agent_put_retries_total',
    'Entries sent again after a failed PutEvents call or entry.'
  );
  readonly batchSize = new Histogram(
    'pullmedic_agent_batch_size',
    'Entries per PutEvents call.',
    [1, 2, 5, 10]
  );

  render(): string {
    return `${[
      this.requests,
      this.restarts,
      this.receiveErrors,
      this.sweeps,
      this.stuck,
      this.reported,
      this.published,
      this.publishFailed,
      this.putCalls,
      this.retries,
      this.batchSize,
    ]
      .map((m) => m.render())
      .join('\n')}\n`;
  }
}
