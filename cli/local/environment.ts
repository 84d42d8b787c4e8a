import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateArchiveCommand,
  CreateEventBusCommand,
  type EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateTopicCommand,
  type SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  CreateDocumentCommand,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { createPullmedicTable } from '../../adapters/aws/dynamodb-table.ts';
import {
  FUNCTION_RULES,
  type FunctionName,
  patternsFor,
} from '../../events/patterns.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The names the local runtime gives its resources (serverless.yml's, stage "local"). */
export const LOCAL_NAMES = {
  bus: 'pullmedic-local',
  archive: 'pullmedic-local-archive',
  table: 'pullmedic-local',
  topic: 'pullmedic-local-oncall',
  pruneDocument: 'pullmedic-local-prune-containerd',
  pruneBottlerocketDocument: 'pullmedic-local-prune-bottlerocket',
  controlParameter: '/pullmedic/local/mode',
} as const;

/** The rules' patterns as serverless.yml gives them to stage "local". */
const LOCAL_PATTERNS = patternsFor('local');

export interface LocalEnvironment {
  busName: string;
  busArn: string;
  topicArn: string;
  /** Queue URL per function (the rule's target), and of its DLQ. */
  queues: Record<FunctionName, { url: string; arn: string; dlqUrl: string }>;
  /** Every event on the bus, in order (a catch-all rule). */
  tapUrl: string;
  /**
   * The cluster agent's queue (the rule `agent`: live Pod Restart
   * Requested), which the local cluster agent stand-in reads.
   */
  agentUrl: string;
  /** The SQS subscription of the on-call topic: what Slack and e-mail get. */
  notificationsUrl: string;
  /** Where the local forwarder keeps what it could not put on the bus. */
  ingestDlqUrl: string;
  archiveArn: string;
  /**
   * Creates the rules of the functions and the tap. Done at once unless
   * deferred: a local replay archives the events first, with no rule to
   * act on them, and connects the rules before it replays them.
   */
  connectRules(): Promise<void>;
}

export interface LocalClients {
  eventBridge: EventBridgeClient;
  sqs: SQSClient;
  sns: SNSClient;
  dynamo: DynamoDBClient;
  ssm: SSMClient;
}

async function queue(sqs: SQSClient, name: string, dlqArn?: string) {
  const created = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        // Retried records come back fast locally; Lambda uses the
        // function timeout times six (serverless.yml).
        VisibilityTimeout: '1',
        ...(dlqArn
          ? {
              RedrivePolicy: JSON.stringify({
                deadLetterTargetArn: dlqArn,
                maxReceiveCount: 3,
              }),
            }
          : {}),
      },
    })
  );
  const url = created.QueueUrl as string;
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['QueueArn'],
    })
  );
  return { url, arn: attrs.Attributes?.QueueArn as string };
}

/**
 * Creates in the local AWS what serverless.yml creates in an account: the
 * bus and its archive, every rule with the same pattern (events/patterns.json)
 * but an SQS queue as its target (moto cannot deliver to Lambda), a DLQ per
 * function queue, the default-bus rule that forwards SSM status changes, the
 * on-call topic with an SQS subscription, the table, the SSM document and
 * the control parameter.
 *
 * @example
 * ```ts
 * const env = await createLocalEnvironment(clients);
 * ```
 */
export async function createLocalEnvironment(
  c: LocalClients,
  options: { deferRules?: boolean } = {}
): Promise<LocalEnvironment> {
  const bus = await c.eventBridge.send(
    new CreateEventBusCommand({ Name: LOCAL_NAMES.bus })
  );
  const busArn = bus.EventBusArn as string;
  const archive = await c.eventBridge.send(
    new CreateArchiveCommand({
      ArchiveName: LOCAL_NAMES.archive,
      EventSourceArn: busArn,
      EventPattern: JSON.stringify(LOCAL_PATTERNS.archive),
      RetentionDays: 30,
    })
  );

  const queues = {} as LocalEnvironment['queues'];
  for (const fn of Object.keys(FUNCTION_RULES) as FunctionName[]) {
    const dlq = await queue(c.sqs, `pullmedic-local-${fn}-dlq`);
    const q = await queue(c.sqs, `pullmedic-local-${fn}`, dlq.arn);
    queues[fn] = { ...q, dlqUrl: dlq.url };
  }
  const tap = await queue(c.sqs, 'pullmedic-local-tap');
  const agent = await queue(c.sqs, 'pullmedic-local-agent');
  const targets = [
    ...(
      Object.entries(FUNCTION_RULES) as [
        FunctionName,
        keyof typeof LOCAL_PATTERNS,
      ][]
    ).map(([fn, rule]) => ({
      name: fn,
      pattern: LOCAL_PATTERNS[rule],
      arn: queues[fn].arn,
    })),
    { name: 'agent', pattern: LOCAL_PATTERNS.agent, arn: agent.arn },
    // Every event on the bus, in order, for the output.
    { name: 'tap', pattern: { source: [{ exists: true }] }, arn: tap.arn },
  ];
  const connectRules = async () => {
    for (const t of targets) {
      await c.eventBridge.send(
        new PutRuleCommand({
          Name: `pullmedic-local-${t.name}`,
          EventBusName: LOCAL_NAMES.bus,
          EventPattern: JSON.stringify(t.pattern),
        })
      );
      await c.eventBridge.send(
        new PutTargetsCommand({
          Rule: `pullmedic-local-${t.name}`,
          EventBusName: LOCAL_NAMES.bus,
          Targets: [{ Id: t.name, Arn: t.arn }],
        })
      );
    }
  };
  if (!options.deferRules) await connectRules();

  // SSM publishes status changes on the default bus; this rule brings
  // those of our documents onto ours, as serverless.yml's does.
  await c.eventBridge.send(
    new PutRuleCommand({
      Name: 'pullmedic-local-forward-ssm',
      EventPattern: JSON.stringify(LOCAL_PATTERNS.forwardSsmToBus),
    })
  );
  await c.eventBridge.send(
    new PutTargetsCommand({
      Rule: 'pullmedic-local-forward-ssm',
      Targets: [{ Id: 'pullmedic-bus', Arn: busArn }],
    })
  );

  const topic = await c.sns.send(
    new CreateTopicCommand({ Name: LOCAL_NAMES.topic })
  );
  const topicArn = topic.TopicArn as string;
  const notifications = await queue(c.sqs, 'pullmedic-local-oncall');
  await c.sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: notifications.arn,
    })
  );
  const ingestDlq = await queue(c.sqs, 'pullmedic-local-forwarder-dlq');

  await createPullmedicTable(c.dynamo, LOCAL_NAMES.table);

  await c.ssm.send(
    new CreateDocumentCommand({
      Name: LOCAL_NAMES.pruneDocument,
      DocumentType: 'Command',
      DocumentFormat: 'YAML',
      Content: await readFile(
        process.env.PULLMEDIC_PRUNE_DOCUMENT_PATH ??
          resolve(repoRoot, 'infra/ssm/prune-containerd.yml'),
        'utf8'
      ),
    })
  );
  await c.ssm.send(
    new CreateDocumentCommand({
      Name: LOCAL_NAMES.pruneBottlerocketDocument,
      DocumentType: 'Command',
      DocumentFormat: 'YAML',
      Content: await readFile(
        resolve(repoRoot, 'infra/ssm/prune-bottlerocket.yml'),
        'utf8'
      ),
    })
  );
  await c.ssm.send(
    new PutParameterCommand({
      Name: LOCAL_NAMES.controlParameter,
      Value: 'live',
      Type: 'String',
    })
  );

  return {
    busName: LOCAL_NAMES.bus,
    busArn,
    topicArn,
    queues,
    tapUrl: tap.url,
    agentUrl: agent.url,
    notificationsUrl: notifications.url,
    ingestDlqUrl: ingestDlq.url,
    archiveArn: archive.ArchiveArn as string,
    connectRules,
  };
}
