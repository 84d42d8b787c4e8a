import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { FunctionName } from '../../events/patterns.ts';
import { type Note, nextOrder } from './gaps.ts';
import { depthOf } from './poller.ts';

/**
 * The CloudWatch alarms of infra/serverless/alarms.yml, which moto does not
 * evaluate: a dead-letter queue that holds messages puts its alarm in
 * ALARM, and the alarm publishes to the on-call topic what CloudWatch
 * would (the alarm's JSON, subject "ALARM: …"); so does a reconciler
 * invocation that failed. Each alarm fires once, as CloudWatch's does on a
 * change of state. Every firing is noted as the local runtime's.
 *
 * @example
 * ```ts
 * const alarms = new LocalAlarms(sns, sqs, topicArn, notes);
 * await alarms.evaluate(dlqs);
 * ```
 */
export class LocalAlarms {
  readonly #sns: SNSClient;
  readonly #sqs: SQSClient;
  readonly #topicArn: string;
  readonly #notes: Note[];
  readonly #inAlarm = new Set<string>();

  constructor(sns: SNSClient, sqs: SQSClient, topicArn: string, notes: Note[]) {
    this.#sns = sns;
    this.#sqs = sqs;
    this.#topicArn = topicArn;
    this.#notes = notes;
  }

  /** The alarms in ALARM so far. */
  get firing(): string[] {
    return [...this.#inAlarm];
  }

  /** Each function's dead-letter queue that holds messages: its alarm fires. */
  async evaluate(
    dlqs: { fn: FunctionName | 'agent'; url: string }[]
  ): Promise<number> {
    let fired = 0;
    for (const { fn, url } of dlqs) {
      const name = `pullmedic-local-${fn}-dead-letters`;
      if (this.#inAlarm.has(name)) continue;
      const depth = await depthOf(this.#sqs, url);
      if (depth === 0) continue;
      await this.#fire(
        name,
        `Threshold Crossed: 1 datapoint [${depth}.0] was greater than the threshold (0.0).`,
        `Events ${fn} could not handle wait in its dead-letter queue, each with its reason. List them with npx pullmedic dlq --stage local list, fix the cause, then redrive them.`
      );
      fired++;
    }
    return fired;
  }

  /** The reconciler's Errors alarm: an invocation failed. */
  async reconcilerFailed(why: string): Promise<void> {
    const name = 'pullmedic-local-reconcile-errors';
    if (this.#inAlarm.has(name)) return;
    await this.#fire(
      name,
      `Threshold Crossed: 1 datapoint [1.0] was greater than the threshold (0.0). ${why}`.slice(
        0,
        1000
      ),
      'The reconciler could not drive one or more incidents past their deadline.'
    );
  }

  async #fire(name: string, reason: string, description: string) {
    this.#inAlarm.add(name);
    const now = new Date().toISOString();
    await this.#sns.send(
      new PublishCommand({
        TopicArn: this.#topicArn,
        Subject: `ALARM: "${name}" in US East (N. Virginia)`.slice(0, 100),
        Message: JSON.stringify({
          AlarmName: name,
          AlarmDescription: description,
          AWSAccountId: '123456789012',
          NewStateValue: 'ALARM',
          NewStateReason: reason,
          StateChangeTime: now,
          Region: 'US East (N. Virginia)',
          OldStateValue: 'OK',
        }),
      })
    );
    this.#notes.push({
      at: new Date(),
      order: nextOrder(),
      who: 'local',
      text: `CloudWatch alarm ${name} went to ALARM and told on-call (moto evaluates no alarms; the local runtime does it)`,
    });
  }
}
