import type {
  AmiFamily,
  CommandInvocation,
  NodeCommands,
} from '#core/ports.ts';
import { wrapAwsError } from '../../adapters/aws/errors.ts';
import { FailurePlan } from './failure-plan.ts';

/**
 * A hand-written NodeCommands: sendPrune hands out command ids in order
 * (`cmd-0001`, …) unless told otherwise and keeps each command's Comment,
 * as SSM does (findPrune and commentOf read it back); getInvocation
 * answers what the test configured for the command and instance.
 * `failures` makes a method throw; `lostResponses` makes sendPrune send
 * the command and then throw, as a timeout after SSM took it would.
 *
 * @example
 * ```ts
 * const commands = new FakeNodeCommands();
 * commands.setInvocation('cmd-0001', 'i-0abc12345678def90', { status: 'Success', stdout: '…', stderr: '' });
 * ```
 */
export class FakeNodeCommands implements NodeCommands {
  readonly documents: { containerd: string; bottlerocket?: string };
  #sent = 0;
  #commandIds: string[] = [];
  #invocations = new Map<string, CommandInvocation>();
  /** Every command SSM took, with its Comment. */
  readonly sent: { commandId: string; instanceId: string; comment: string }[] =
    [];
  readonly failures = new FailurePlan<
    'sendPrune' | 'getInvocation' | 'findPrune' | 'commentOf'
  >();
  /** The next sendPrune sends, then throws this. */
  readonly lostResponses = new FailurePlan<'sendPrune'>();

  calls: {
    sendPrune: {
      instanceId: string;
      documentName: string;
      parameters: Record<string, string[]>;
      comment: string;
    }[];
    getInvocation: { commandId: string; instanceId: string }[];
    findPrune: { instanceId: string; intentId: string }[];
    commentOf: { commandId: string }[];
  } = { sendPrune: [], getInvocation: [], findPrune: [], commentOf: [] };

  constructor(
    documents: { containerd: string; bottlerocket?: string } = {
      containerd: 'pullmedic-test-prune-containerd',
      bottlerocket: 'pullmedic-test-prune-bottlerocket',
    }
  ) {
    this.documents = documents;
  }

  documentFor(amiFamily: AmiFamily): string | undefined {
    return amiFamily === 'bottlerocket'
      ? this.documents.bottlerocket
      : this.documents.containerd;
  }

  /** The ids the next sendPrune calls return, in order. */
  returnCommandIds(...ids: string[]): void {
    this.#commandIds = ids;
  }

  setInvocation(
    commandId: string,
    instanceId: string,
    invocation: CommandInvocation
  ): void {
    this.#invocations.set(`${commandId}#${instanceId}`, invocation);
  }

  failSendWith(error: Error): void {
    this.failures.always('sendPrune', error);
  }

  failGetInvocationWith(error: Error): void {
    this.failures.always('getInvocation', error);
  }

  callCount(method: keyof FakeNodeCommands['calls']): number {
    return this.calls[method].length;
  }

  reset(): void {
    this.#sent = 0;
    this.#commandIds = [];
    this.#invocations.clear();
    this.sent.length = 0;
    this.failures.reset();
    this.lostResponses.reset();
    this.calls = {
      sendPrune: [],
      getInvocation: [],
      findPrune: [],
      commentOf: [],
    };
  }

  async sendPrune(
    instanceId: string,
    documentName: string,
    parameters: Record<string, string[]>,
    comment: string
  ): Promise<string> {
    this.calls.sendPrune.push({
      instanceId,
      documentName,
      parameters,
      comment,
    });
    this.#throwIfFailing('sendPrune');
    this.#sent++;
    const commandId =
      this.#commandIds.shift() ?? `cmd-${String(this.#sent).padStart(4, '0')}`;
    this.sent.push({ commandId, instanceId, comment });
    const lost = this.lostResponses.take('sendPrune');
    if (lost) throw wrapAwsError('sending the prune (in memory)', lost);
    return commandId;
  }

  async findPrune(
    instanceId: string,
    intentId: string
  ): Promise<string | undefined> {
    this.calls.findPrune.push({ instanceId, intentId });
    this.#throwIfFailing('findPrune');
    return this.sent.find(
      (c) =>
        c.instanceId === instanceId &&
        c.comment.startsWith(`pullmedic ${intentId}`)
    )?.commandId;
  }

  async commentOf(commandId: string): Promise<string | undefined> {
    this.calls.commentOf.push({ commandId });
    this.#throwIfFailing('commentOf');
    return this.sent.find((c) => c.commandId === commandId)?.comment;
  }

  #throwIfFailing(
    method: 'sendPrune' | 'getInvocation' | 'findPrune' | 'commentOf'
  ): void {
    const error = this.failures.take(method);
    if (error) throw wrapAwsError(`${method} (in memory)`, error);
  }

  async getInvocation(
    commandId: string,
    instanceId: string
  ): Promise<CommandInvocation> {
    this.calls.getInvocation.push({ commandId, instanceId });
    this.#throwIfFailing('getInvocation');
    const invocation = this.#invocations.get(`${commandId}#${instanceId}`);
    if (invocation === undefined) {
      const err = new Error(`no invocation of ${commandId} on ${instanceId}`);
      err.name = 'InvocationDoesNotExist';
      throw err;
    }
    return structuredClone(invocation);
  }
}
