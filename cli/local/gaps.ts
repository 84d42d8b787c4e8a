import { randomUUID } from 'node:crypto';
import {
  type EventBridgeClient,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import type { CommandInvocation } from '../../core/ports.ts';
import { DETAIL_TYPES, SOURCES } from '../../events/detail-types.ts';
import type { HookableClient } from '../../functions/_shared/wiring.ts';
import type { LocalNode } from './simulated-node.ts';

/** A line the local runtime reports about what it did in moto's place. */
export interface Note {
  at: Date;
  who: string;
  text: string;
  /** Position among notes and bus events (see `nextOrder`). */
  order?: number;
}

let order = 0;
/** One counter orders notes and bus events as they happened. */
export const nextOrder = (): number => ++order;

interface PendingCommand {
  commandId: string;
  instanceId: string;
  documentName: string;
  parameters: Record<string, string[]>;
  requestedAt: Date;
}

type Next = (args: {
  input: unknown;
}) => Promise<{ output: unknown; response: unknown }>;
type Middleware = (next: Next, context: { commandName?: string }) => Next;

/**
 * Fills, in-process, what moto does not do, and says so every time:
 * - SSM runs nothing (every command "succeeds" with empty output): the
 *   local agent stand-in runs our document's logic on the local node and
 *   publishes the status-change event SSM would, on the default bus;
 *   GetCommandInvocation then answers with that run's real output.
 * - EKS UpdateNodegroupVersion / DescribeUpdate and Auto Scaling
 *   StartInstanceRefresh do not exist in moto: answered here, recorded.
 *
 * @example
 * ```ts
 * const gaps = new LocalGaps(nodesByInstance, eventBridge, notes);
 * setClientHook((client) => gaps.install(client));
 * ```
 */
export class LocalGaps {
  readonly #nodes: ReadonlyMap<string, LocalNode>;
  readonly #eventBridge: EventBridgeClient;
  readonly #notes: Note[];
  readonly #pending: PendingCommand[] = [];
  readonly #invocations = new Map<string, CommandInvocation>();
  readonly nodegroupUpdates: {
    cluster: string;
    nodegroup: string;
    launchTemplate: unknown;
    id: string;
  }[] = [];
  readonly instanceRefreshes: {
    group: string;
    request: unknown;
    id: string;
  }[] = [];
  /** Nodes the agent pruned, in order (the kubelet stand-in retries there). */
  readonly pruned: string[] = [];
  /** Status-change events the stand-in published (or dropped), in order. */
  statusEvents = 0;
  /**
   * Whether the stand-in drops the n-th status-change event (1-based), as
   * EventBridge may: SSM's are delivered best effort. The fault sweep sets it.
   */
  dropStatusEvent: ((n: number) => boolean) | undefined;

  constructor(
    nodes: ReadonlyMap<string, LocalNode>,
    eventBridge: EventBridgeClient,
    notes: Note[]
  ) {
    this.#nodes = nodes;
    this.#eventBridge = eventBridge;
    this.#notes = notes;
  }

  #note(who: string, text: string) {
    this.#notes.push({ at: new Date(), who, text, order: nextOrder() });
  }

  /** The client hook: adds this object's middleware to a client. */
  install(client: HookableClient): void {
    const middleware: Middleware = (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      switch (context.commandName) {
        case 'SendCommandCommand':
          return this.#sendCommand(input, await next(args));
        case 'GetCommandInvocationCommand':
          return (this.#commandInvocation(input) ?? next(args)) as never;
        case 'UpdateNodegroupVersionCommand':
          return this.#updateNodegroupVersion(input) as never;
        case 'StartInstanceRefreshCommand':
          return this.#startInstanceRefresh(input) as never;
        case 'DescribeUpdateCommand':
        case 'DescribeInstanceRefreshesCommand':
          return this.#describeRollout(context.commandName, input) as never;
        default:
          return next(args);
      }
    };
    client.middlewareStack.add(middleware as never, {
      step: 'initialize',
      name: 'pullmedicLocalGaps',
    });
  }

  /** moto records the command; the agent stand-in runs it later. */
  #sendCommand<R extends { output: unknown }>(
    input: Record<string, unknown>,
    result: R
  ): R {
    const command = (result.output as { Command?: { CommandId?: string } })
      .Command;
    for (const instanceId of (input.InstanceIds as string[]) ?? []) {
      this.#pending.push({
        commandId: command?.CommandId as string,
        instanceId,
        documentName: input.DocumentName as string,
        parameters: (input.Parameters as Record<string, string[]>) ?? {},
        requestedAt: new Date(),
      });
    }
    return result;
  }

  /**
   * The invocation as the agent stand-in left it; InProgress while it is
   * pending (moto would answer Success with empty output); undefined when
   * the stand-in never saw it (moto answers).
   */
  #commandInvocation(input: Record<string, unknown>) {
    const id = `${input.CommandId}/${input.InstanceId}`;
    const found = this.#invocations.get(id);
    const pending = this.#pending.some(
      (c) => `${c.commandId}/${c.instanceId}` === id
    );
    if (!found && !pending) return undefined;
    return {
      response: { statusCode: 200, headers: {} },
      output: {
        $metadata: {},
        CommandId: input.CommandId,
        InstanceId: input.InstanceId,
        Status: found?.status ?? 'InProgress',
        StatusDetails: found
          ? (found.statusDetails ?? found.status)
          : 'InProgress',
        ResponseCode: found?.responseCode ?? -1,
        StandardOutputContent: found?.stdout.slice(0, 24000) ?? '',
        StandardErrorContent: found?.stderr.slice(0, 8000) ?? '',
      },
    };
  }

  /**
   * moto has no UpdateNodegroupVersion. EKS answers a clientRequestToken it
   * has seen with the update it started then.
   */
  #updateNodegroupVersion(input: Record<string, unknown>) {
    const token = String(input.clientRequestToken ?? '');
    const seen = token ? this.#updatesByToken.get(token) : undefined;
    const id = seen ?? randomUUID();
    if (seen === undefined) {
      if (token) this.#updatesByToken.set(token, id);
      this.nodegroupUpdates.push({
        cluster: input.clusterName as string,
        nodegroup: input.nodegroupName as string,
        launchTemplate: input.launchTemplate,
        id,
      });
      this.#note(
        'local',
        `EKS UpdateNodegroupVersion ${String(input.nodegroupName)} → launch template ${JSON.stringify(input.launchTemplate)} answered in-process (moto has no such API); update ${id}`
      );
    }
    return {
      response: { statusCode: 200, headers: {} },
      output: {
        $metadata: {},
        update: {
          id,
          status: 'InProgress',
          type: 'VersionUpdate',
          createdAt: new Date(),
        },
      },
    };
  }

  /**
   * moto has no StartInstanceRefresh. Auto Scaling refuses a second refresh
   * of a group while one is in progress (InstanceRefreshInProgress), which
   * is what a retry that did not look first would meet.
   */
  #startInstanceRefresh(input: Record<string, unknown>) {
    const group = input.AutoScalingGroupName as string;
    const running = this.instanceRefreshes.find(
      (r) => r.group === group && (this.#looks.get(r.id) ?? 0) <= 1
    );
    if (running) {
      throw Object.assign(
        new Error(
          `An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.`
        ),
        {
          name: 'InstanceRefreshInProgress',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        }
      );
    }
    const id = randomUUID();
    this.instanceRefreshes.push({
      group: input.AutoScalingGroupName as string,
      request: input,
      id,
    });
    this.#note(
      'local',
      `Auto Scaling StartInstanceRefresh ${String(input.AutoScalingGroupName)} answered in-process (moto has no such API); refresh ${id}`
    );
    return {
      response: { statusCode: 200, headers: {} },
      output: { $metadata: {}, InstanceRefreshId: id },
    };
  }

  readonly #looks = new Map<string, number>();
  readonly #updatesByToken = new Map<string, string>();

  /**
   * The rollouts moto cannot run: the first look says InProgress, the next
   * Successful, so the watch is seen to wait and then to end.
   */
  #describeRollout(command: string, input: Record<string, unknown>) {
    // Without ids, DescribeInstanceRefreshes lists the group's refreshes
    // (a retry looks for the one it started): each as it stands now.
    if (
      command === 'DescribeInstanceRefreshesCommand' &&
      !(input.InstanceRefreshIds as string[] | undefined)?.length
    ) {
      const group = String(input.AutoScalingGroupName);
      return {
        response: { statusCode: 200, headers: {} },
        output: {
          $metadata: {},
          InstanceRefreshes: this.instanceRefreshes
            .filter((r) => r.group === group)
            .map((r) => ({
              InstanceRefreshId: r.id,
              AutoScalingGroupName: group,
              Status:
                (this.#looks.get(r.id) ?? 0) > 1 ? 'Successful' : 'InProgress',
              DesiredConfiguration: (r.request as Record<string, unknown>)
                .DesiredConfiguration,
              Preferences: (r.request as Record<string, unknown>).Preferences,
            })),
        },
      };
    }
    const id = String(
      input.updateId ?? (input.InstanceRefreshIds as string[] | undefined)?.[0]
    );
    const looks = (this.#looks.get(id) ?? 0) + 1;
    this.#looks.set(id, looks);
    const done = looks > 1;
    this.#note(
      'local',
      `${command.replace('Command', '')} ${id} answered in-process (moto has no such API): ${done ? 'Successful' : 'InProgress'}`
    );
    const output =
      command === 'DescribeUpdateCommand'
        ? {
            update: {
              id,
              status: done ? 'Successful' : 'InProgress',
              type: 'VersionUpdate',
              errors: [],
            },
          }
        : {
            InstanceRefreshes: [
              {
                InstanceRefreshId: id,
                Status: done ? 'Successful' : 'InProgress',
              },
            ],
          };
    return {
      response: { statusCode: 200, headers: {} },
      output: { $metadata: {}, ...output },
    };
  }

  /** True while commands wait for the agent stand-in. */
  get busy(): boolean {
    return this.#pending.length > 0;
  }

  /**
   * The SSM agent stand-in: runs each pending command on its node and
   * publishes the `EC2 Command Invocation Status-change Notification` SSM
   * would, on the default bus (a rule there forwards it to ours).
   */
  async runPending(): Promise<number> {
    const batch = this.#pending.splice(0);
    for (const cmd of batch) {
      const node = this.#nodes.get(cmd.instanceId);
      let invocation: CommandInvocation;
      if (!node) {
        // SSM could not reach an agent on an instance it does not manage:
        // the invocation fails, and its status details say why.
        invocation = {
          status: 'Failed',
          statusDetails: 'Undeliverable',
          stdout: '',
          stderr: '',
        };
      } else {
        const dryRun = cmd.parameters.DryRun?.[0] === 'true';
        const run = await node.prune(dryRun);
        invocation = {
          status: run.status,
          statusDetails: run.status,
          responseCode: run.responseCode,
          stdout: run.stdout,
          stderr: run.stderr,
        };
        this.pruned.push(node.name);
        this.#note(
          node.kind === 'lab' ? 'lab' : 'simulated',
          `SSM agent stand-in ran ${cmd.documentName} on ${node.name} (${node.kind === 'lab' ? 'the real containerd of the lab' : 'a simulated node'}; moto runs no commands): ${run.status}`
        );
      }
      this.#invocations.set(`${cmd.commandId}/${cmd.instanceId}`, invocation);
      this.statusEvents += 1;
      if (this.dropStatusEvent?.(this.statusEvents)) {
        this.#note(
          'local',
          `the status change of command ${cmd.commandId} (${invocation.status}) was dropped, as EventBridge may drop SSM's best-effort events`
        );
        continue;
      }
      await this.#eventBridge.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: SOURCES.ssm,
              DetailType: DETAIL_TYPES.ssmCommandInvocationStatusChange,
              Resources: [
                `arn:aws:ec2:us-east-1:123456789012:instance/${cmd.instanceId}`,
              ],
              Detail: JSON.stringify({
                'command-id': cmd.commandId,
                'document-name': cmd.documentName,
                'instance-id': cmd.instanceId,
                'requested-date-time': cmd.requestedAt.toISOString(),
                status: invocation.status,
              }),
            },
          ],
        })
      );
    }
    return batch.length;
  }
}
