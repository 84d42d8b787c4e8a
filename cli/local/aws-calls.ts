import type { HookableClient } from '../../functions/_shared/wiring.ts';

/**
 * One AWS call of a run: the function that made it, the call as an IAM
 * action, and which occurrence of that call by that function it was.
 */
export interface CallSite {
  fn: string;
  action: string;
  ordinal: number;
}

/**
 * The IAM service prefix of each SDK client the functions build. A client
 * missing here is recorded under its own name, so a check against the
 * roles fails on it rather than passing it by.
 */
const SERVICE_PREFIX: Record<string, string> = {
  AutoScalingClient: 'autoscaling',
  DynamoDBClient: 'dynamodb',
  EC2Client: 'ec2',
  EKSClient: 'eks',
  EventBridgeClient: 'events',
  SNSClient: 'sns',
  SQSClient: 'sqs',
  SSMClient: 'ssm',
};

/**
 * The AWS calls each function made during a local run, as IAM actions
 * (`ec2:DescribeInstances`): what its role must allow. The local runtime
 * runs one function's batch at a time, so a call belongs to the function
 * whose batch is running.
 *
 * @example
 * ```ts
 * const calls = new AwsCallLog();
 * setClientHook((client) => calls.install(client));
 * await calls.during('classify', () => handler(event, context));
 * calls.actions(); // { classify: ['ec2:DescribeInstances', …] }
 * ```
 */
export class AwsCallLog {
  readonly #byFunction = new Map<string, Set<string>>();
  readonly #counts = new Map<string, number>();
  #running: string | undefined;
  /** Every call made, in order, as a call site: who, what, and which time. */
  readonly sites: CallSite[] = [];
  /**
   * Decides, call by call, whether the call fails (the fault sweep): the
   * error to throw in place of the call, or undefined to let it through.
   */
  fault: ((site: CallSite) => Error | undefined) | undefined;

  /** Runs `work` as `functionName`'s: the calls it makes are that function's. */
  async during<T>(functionName: string, work: () => Promise<T>): Promise<T> {
    this.#running = functionName;
    try {
      return await work();
    } finally {
      this.#running = undefined;
    }
  }

  /** The client hook: records every command the client sends. */
  install(client: HookableClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (this.#running !== undefined) {
          const prefix =
            SERVICE_PREFIX[context.clientName ?? ''] ?? context.clientName;
          const action = `${prefix}:${String(context.commandName).replace(/Command$/, '')}`;
          const seen = this.#byFunction.get(this.#running) ?? new Set();
          this.#byFunction.set(this.#running, seen.add(action));
          const key = `${this.#running} ${action}`;
          const ordinal = (this.#counts.get(key) ?? 0) + 1;
          this.#counts.set(key, ordinal);
          const site = { fn: this.#running, action, ordinal };
          this.sites.push(site);
          const error = this.fault?.(site);
          if (error) throw error;
        }
        return next(args);
      },
      // Before the local runtime's own middleware, which answers some
      // calls in-process without passing them on.
      { step: 'initialize', priority: 'high', name: 'pullmedicAwsCallLog' }
    );
  }

  /** Forgets every call (a new run on the same emulator). */
  reset(): void {
    this.#byFunction.clear();
    this.#counts.clear();
    this.sites.length = 0;
  }

  /** Each function's IAM actions, sorted. */
  actions(): Record<string, string[]> {
    return Object.fromEntries(
      [...this.#byFunction].map(([fn, actions]) => [fn, [...actions].sort()])
    );
  }
}
