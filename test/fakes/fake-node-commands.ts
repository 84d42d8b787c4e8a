import type {
  AmiFamily,
  CommandInvocation,
  NodeCommands,
} from '#core/ports.ts';

/**
 * A hand-written NodeCommands: sendPrune hands out command ids in order
 * (`cmd-0001`, …) unless told otherwise; getInvocation answers what the
 * test configured for the command and instance.
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
  #sendError: Error | undefined;
  #invocationError: Error | undefined;

  calls: {
    sendPrune: {
      instanceId: string;
      documentName: string;
      parameters: Record<string, string[]>;
      comment: string;
    }[];
    getInvocation: { commandId: string; instanceId: string }[];
  } = { sendPrune: [], getInvocation: [] };

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
    this.#sendError = error;
  }

  failGetInvocationWith(error: Error): void {
    this.#invocationError = error;
  }

  callCount(method: keyof FakeNodeCommands['calls']): number {
    return this.calls[method].length;
  }

  reset(): void {
    this.#sent = 0;
    this.#commandIds = [];
    this.#invocations.clear();
    this.#sendError = undefined;
    this.#invocationError = undefined;
    this.calls = { sendPrune: [], getInvocation: [] };
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
    if (this.#sendError) throw this.#sendError;
    this.#sent++;
    return (
      this.#commandIds.shift() ?? `cmd-${String(this.#sent).padStart(4, '0')}`
    );
  }

  async getInvocation(
    commandId: string,
    instanceId: string
  ): Promise<CommandInvocation> {
    this.calls.getInvocation.push({ commandId, instanceId });
    if (this.#invocationError) throw this.#invocationError;
    const invocation = this.#invocations.get(`${commandId}#${instanceId}`);
    if (invocation === undefined) {
      const err = new Error(`no invocation of ${commandId} on ${instanceId}`);
      err.name = 'InvocationDoesNotExist';
      throw err;
    }
    return structuredClone(invocation);
  }
}
