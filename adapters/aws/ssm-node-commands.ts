import {
  GetCommandInvocationCommand,
  GetParameterCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type {
  AmiFamily,
  CommandInvocation,
  ControlMode,
  ControlSwitch,
  NodeCommands,
} from '../../core/ports.ts';
import { isNotFound, wrapAwsError } from './errors.ts';

/** The names of the deployed prune documents. */
export interface PruneDocuments {
  /** AL2 and AL2023 nodes (and any node whose family EC2 does not tell). */
  containerd: string;
  /** Bottlerocket nodes; unset when the stack deploys no such document. */
  bottlerocket?: string;
}

/**
 * Runs pullmedic's prune documents on one instance with SSM Run Command and
 * reads their output back the way AWS keeps it.
 *
 * @example
 * ```ts
 * const commands = new SsmNodeCommands(ssm, { containerd: 'pullmedic-prod-prune-containerd' }, 600);
 * const id = await commands.sendPrune('i-0abc…', commands.documentFor('al2023') as string, { DryRun: ['false'] }, 'incident …');
 * ```
 */
export class SsmNodeCommands implements NodeCommands {
  readonly #documents: PruneDocuments;
  readonly #client: SSMClient;
  readonly #timeoutSeconds: number;

  constructor(
    client: SSMClient,
    documents: PruneDocuments,
    timeoutSeconds: number
  ) {
    this.#client = client;
    this.#documents = documents;
    this.#timeoutSeconds = timeoutSeconds;
  }

  documentFor(amiFamily: AmiFamily): string | undefined {
    return amiFamily === 'bottlerocket'
      ? this.#documents.bottlerocket || undefined
      : this.#documents.containerd;
  }

  async sendPrune(
    instanceId: string,
    documentName: string,
    parameters: Record<string, string[]>,
    comment: string
  ): Promise<string> {
    try {
      const out = await this.#client.send(
        new SendCommandCommand({
          DocumentName: documentName,
          InstanceIds: [instanceId],
          Parameters: parameters,
          Comment: comment,
          // How long the command may wait for the agent to pick it up.
          TimeoutSeconds: this.#timeoutSeconds,
        })
      );
      const id = out.Command?.CommandId;
      if (!id) throw new Error('SendCommand returned no CommandId');
      return id;
    } catch (err) {
      throw wrapAwsError(`sending ${documentName} to ${instanceId}`, err);
    }
  }

  async findPrune(
    instanceId: string,
    intentId: string
  ): Promise<string | undefined> {
    try {
      // The commands sent to the instance, newest first; ours carries the
      // intent id at the head of its Comment. A prune is found within the
      // first pages: it was sent minutes ago at most.
      let NextToken: string | undefined;
      for (let page = 0; page < 5; page++) {
        const out = await this.#client.send(
          new ListCommandsCommand({
            InstanceId: instanceId,
            MaxResults: 50,
            ...(NextToken ? { NextToken } : {}),
          })
        );
        const found = out.Commands?.find((c) =>
          c.Comment?.startsWith(`pullmedic ${intentId}`)
        );
        if (found?.CommandId) return found.CommandId;
        NextToken = out.NextToken;
        if (!NextToken) return undefined;
      }
      return undefined;
    } catch (err) {
      throw wrapAwsError(`looking for the prune sent to ${instanceId}`, err);
    }
  }

  async commentOf(commandId: string): Promise<string | undefined> {
    try {
      const out = await this.#client.send(
        new ListCommandsCommand({ CommandId: commandId })
      );
      return out.Commands?.[0]?.Comment;
    } catch (err) {
      throw wrapAwsError(`reading command ${commandId}`, err);
    }
  }

  async getInvocation(
    commandId: string,
    instanceId: string
  ): Promise<CommandInvocation> {
    try {
      // Our documents have one step, so PluginName may be left out.
      const out = await this.#client.send(
        new GetCommandInvocationCommand({
          CommandId: commandId,
          InstanceId: instanceId,
        })
      );
      return {
        status: out.Status ?? 'Unknown',
        ...(out.StatusDetails ? { statusDetails: out.StatusDetails } : {}),
        ...(out.ResponseCode !== undefined
          ? { responseCode: out.ResponseCode }
          : {}),
        stdout: out.StandardOutputContent ?? '',
        stderr: out.StandardErrorContent ?? '',
      };
    } catch (err) {
      throw wrapAwsError(`reading command ${commandId} on ${instanceId}`, err);
    }
  }
}

const MODES: readonly ControlMode[] = ['live', 'dry-run', 'off'];

/**
 * The kill switch and dry-run, as one SSM parameter (`live`, `dry-run` or
 * `off`), read at most once per `cacheSeconds`. A missing parameter means
 * the configured default; an unknown value means dry-run: when in doubt,
 * decide but do not act. A parameter that cannot be read is an error, not
 * a mode: a throttled read retries the record, a denied one dead-letters it
 * with its reason and the alarm tells on-call. Reading it as dry-run would
 * quietly turn one incident into a report nobody acts on.
 *
 * @example
 * ```ts
 * const control = new SsmControlSwitch(ssm, '/pullmedic/prod/mode', 'live', 30, () => new Date());
 * ```
 */
export class SsmControlSwitch implements ControlSwitch {
  readonly #client: SSMClient;
  readonly #name: string;
  readonly #fallback: ControlMode;
  readonly #cacheMs: number;
  readonly #now: () => Date;
  #cached?: { mode: ControlMode; at: number };

  constructor(
    client: SSMClient,
    name: string,
    fallback: ControlMode,
    cacheSeconds: number,
    now: () => Date
  ) {
    this.#client = client;
    this.#name = name;
    this.#fallback = fallback;
    this.#cacheMs = cacheSeconds * 1000;
    this.#now = now;
  }

  async mode(): Promise<ControlMode> {
    const now = this.#now().getTime();
    if (this.#cached && now - this.#cached.at < this.#cacheMs) {
      return this.#cached.mode;
    }
    const mode = await this.#read();
    this.#cached = { mode, at: now };
    return mode;
  }

  async #read(): Promise<ControlMode> {
    try {
      const out = await this.#client.send(
        new GetParameterCommand({ Name: this.#name })
      );
      const value = out.Parameter?.Value?.trim() as ControlMode | undefined;
      return value && MODES.includes(value) ? value : 'dry-run';
    } catch (err) {
      if (isNotFound(err)) return this.#fallback;
      throw wrapAwsError(`reading the control parameter ${this.#name}`, err);
    }
  }
}
