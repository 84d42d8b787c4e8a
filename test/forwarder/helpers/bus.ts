import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';

/** Settings both SDK clients take (startTestAws().clientConfig). */
interface ClientConfig {
  endpoint: string;
  region: string;
  maxAttempts: number;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** One delivered `Kubernetes Event`, as the SQS target of the rule got it. */
export interface Delivered {
  uid: string;
  count: number;
  reason: string;
  message: string;
  detail: Record<string, unknown>;
  resources: string[];
}

/**
 * The pullmedic bus on moto, with a rule that sends every forwarder event
 * to an SQS queue, so a test sees exactly what EventBridge accepted (and
 * how often).
 *
 * @example
 * ```ts
 * const bus = await createTestBus(aws.clientConfig, 'pullmedic');
 * const got = await bus.collect((all) => all.length >= 2);
 * ```
 */
export async function createTestBus(config: ClientConfig, name: string) {
  const events = new EventBridgeClient(config);
  const sqs = new SQSClient(config);
  await events.send(new CreateEventBusCommand({ Name: name }));
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `${name}-forwarded` })
  );
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl,
      AttributeNames: ['QueueArn'],
    })
  );
  await events.send(
    new PutRuleCommand({
      Name: `${name}-all-kubernetes-events`,
      EventBusName: name,
      EventPattern: JSON.stringify({ source: ['pullmedic.kubernetes'] }),
    })
  );
  await events.send(
    new PutTargetsCommand({
      Rule: `${name}-all-kubernetes-events`,
      EventBusName: name,
      Targets: [{ Id: 'queue', Arn: attrs.Attributes?.QueueArn }],
    })
  );
  const delivered: Delivered[] = [];

  const drain = async () => {
    for (;;) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
        })
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) return;
      for (const m of messages) {
        const envelope = JSON.parse(m.Body ?? '{}') as {
          detail: Record<string, unknown>;
          resources?: string[];
        };
        const event = envelope.detail.event as Record<string, unknown>;
        const meta = event.metadata as { uid: string };
        delivered.push({
          uid: meta.uid,
          count: event.count as number,
          reason: event.reason as string,
          message: event.message as string,
          detail: envelope.detail,
          resources: envelope.resources ?? [],
        });
      }
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl,
          Entries: messages.map((m, i) => ({
            Id: String(i),
            ReceiptHandle: m.ReceiptHandle,
          })),
        })
      );
    }
  };

  return {
    delivered,
    /**
     * Reads the queue until `done(all delivered so far)` holds or the
     * timeout passes, then once more after `settleMs` so that a duplicate
     * arriving late is seen too.
     */
    async collect(
      done: (all: Delivered[]) => boolean,
      timeoutMs = 20_000,
      settleMs = 1_000
    ): Promise<Delivered[]> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        await drain();
        if (done(delivered)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, settleMs));
      await drain();
      return delivered;
    },
  };
}

/** One PutEvents request that went through the fault proxy. */
export interface ProxiedCall {
  keys: string[];
  sizes: number[];
  injectedFailures: number;
}

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

// moto's answer for the entries it got, spread back over the whole batch,
// with the entries it never saw failed as EventBridge fails them.
function withInjectedFailures(
  text: string,
  total: number,
  failed: number[]
): string {
  const out = JSON.parse(text) as { Entries: unknown[] };
  const results: unknown[] = [];
  let next = 0;
  for (let i = 0; i < total; i++) {
    results.push(
      failed.includes(i)
        ? {
            ErrorCode: 'ThrottlingException',
            ErrorMessage: 'Rate exceeded (injected)',
          }
        : out.Entries[next++]
    );
  }
  return JSON.stringify({ FailedEntryCount: failed.length, Entries: results });
}

const forwardHeaders = (req: IncomingMessage) => {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v === 'string' && k !== 'host' && k !== 'content-length') {
      headers[k] = v;
    }
  }
  return headers;
};

/**
 * A loopback HTTP proxy in front of moto that records each PutEvents call
 * and, when armed, answers one call the way EventBridge does under
 * throttling: HTTP 200, some entries accepted (forwarded to moto) and the
 * others failed with ErrorCode ThrottlingException. moto cannot fail an
 * entry transiently by itself.
 *
 * @example
 * ```ts
 * const proxy = await startFaultProxy(aws.endpoint);
 * proxy.failOddEntriesOfNextCall();
 * ```
 */
export async function startFaultProxy(target: string) {
  const calls: ProxiedCall[] = [];
  let armed = false;
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const isPut = req.headers['x-amz-target'] === 'AWSEvents.PutEvents';
    let forward = body;
    let failed: number[] = [];
    let entries: { Detail?: string }[] = [];
    if (isPut) {
      entries = (JSON.parse(body.toString('utf8')) as { Entries: [] }).Entries;
      const keys = entries.map((e) => {
        const detail = JSON.parse(e.Detail ?? '{}') as {
          event?: { metadata?: { uid?: string } };
        };
        return detail.event?.metadata?.uid ?? '?';
      });
      if (armed && entries.length >= 2) {
        armed = false;
        failed = entries.map((_, i) => i).filter((i) => i % 2 === 1);
        forward = Buffer.from(
          JSON.stringify({
            Entries: entries.filter((_, i) => i % 2 === 0),
          })
        );
      }
      calls.push({
        keys,
        sizes: entries.map((e) => Buffer.byteLength(e.Detail ?? '')),
        injectedFailures: failed.length,
      });
    }
    const upstream = await fetch(target + (req.url ?? '/'), {
      method: req.method ?? 'POST',
      headers: forwardHeaders(req),
      ...(req.method === 'GET' ? {} : { body: forward }),
    });
    const text = await upstream.text();
    const answer =
      failed.length > 0 && upstream.ok
        ? withInjectedFailures(text, entries.length, failed)
        : text;
    res.writeHead(upstream.status, {
      'content-type':
        upstream.headers.get('content-type') ?? 'application/x-amz-json-1.1',
    });
    res.end(answer);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    /** The next PutEvents call with 2+ entries fails its odd entries. */
    failOddEntriesOfNextCall() {
      armed = true;
    },
    async stop() {
      server.close();
      server.closeAllConnections();
    },
  };
}
