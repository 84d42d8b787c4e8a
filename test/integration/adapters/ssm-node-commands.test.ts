import {
  CreateDocumentCommand,
  ListCommandsCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SsmControlSwitch,
  SsmNodeCommands,
} from '../../../adapters/aws/ssm-node-commands.ts';
import { sdkError } from '../../../cli/local/fault-sweep.ts';
import { AwsCallError } from '../../../core/errors.ts';
import { startTestAws } from '../../helpers/moto.ts';

const DOCUMENT = `schemaVersion: "2.2"
description: test prune document
parameters:
  DryRun:
    type: String
    default: "false"
    allowedPattern: "^(true|false)$"
mainSteps:
  - action: aws:runShellScript
    name: prune
    inputs:
      runCommand: ["echo pruned"]
`;

const DOCUMENTS = { containerd: 'pullmedic-test-prune' };

describe('Class: SsmNodeCommands (against moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let ssm: SSMClient;

  beforeAll(async () => {
    aws = await startTestAws();
    ssm = new SSMClient(aws.clientConfig);
    await ssm.send(
      new CreateDocumentCommand({
        Name: 'pullmedic-test-prune',
        DocumentType: 'Command',
        DocumentFormat: 'YAML',
        Content: DOCUMENT,
      })
    );
  });
  afterAll(async () => {
    await aws.stop();
  });

  describe('Method: documentFor', () => {
    it('picks the Bottlerocket document for Bottlerocket nodes, the containerd one for the rest', () => {
      // Prepare
      const both = new SsmNodeCommands(
        ssm,
        { ...DOCUMENTS, bottlerocket: 'pullmedic-test-prune-bottlerocket' },
        600
      );
      const containerdOnly = new SsmNodeCommands(ssm, DOCUMENTS, 600);

      // Act
      const chosen = (
        ['al2023', 'al2', 'unknown', 'bottlerocket'] as const
      ).map((family) => both.documentFor(family));

      // Assess
      expect(chosen).toEqual([
        'pullmedic-test-prune',
        'pullmedic-test-prune',
        'pullmedic-test-prune',
        'pullmedic-test-prune-bottlerocket',
      ]);
      expect(containerdOnly.documentFor('bottlerocket')).toBeUndefined();
    });
  });

  describe('Method: sendPrune', () => {
    it('sends our document to one instance with only the given parameters', async () => {
      // Prepare
      const commands = new SsmNodeCommands(ssm, DOCUMENTS, 600);

      // Act
      const id = await commands.sendPrune(
        'i-0123456789abcdef0',
        'pullmedic-test-prune',
        { DryRun: ['false'] },
        'incident x'
      );

      // Assess
      const listed = await ssm.send(new ListCommandsCommand({ CommandId: id }));
      const command = listed.Commands?.[0];
      expect(command?.DocumentName).toBe('pullmedic-test-prune');
      expect(command?.InstanceIds).toEqual(['i-0123456789abcdef0']);
      expect(command?.Parameters).toEqual({ DryRun: ['false'] });
      expect(command?.Comment).toBe('incident x');
    });
  });

  describe('Methods: findPrune and commentOf', () => {
    it("finds the command sent with an intent id in its Comment, and reads a command's Comment back", async () => {
      // Prepare
      const commands = new SsmNodeCommands(ssm, DOCUMENTS, 600);
      const other = await commands.sendPrune(
        'i-0aaaaaaaaaaaaaaa1',
        'pullmedic-test-prune',
        { DryRun: ['false'] },
        'pullmedic event-older prod/ip-10-0-1-1.ec2.internal/20261120T090000Z'
      );
      const mine = await commands.sendPrune(
        'i-0aaaaaaaaaaaaaaa1',
        'pullmedic-test-prune',
        { DryRun: ['false'] },
        'pullmedic event-mine prod/ip-10-0-1-1.ec2.internal/20261120T094059Z'
      );

      // Act
      const found = await commands.findPrune(
        'i-0aaaaaaaaaaaaaaa1',
        'event-mine'
      );
      const none = await commands.findPrune(
        'i-0aaaaaaaaaaaaaaa1',
        'event-never'
      );
      const elsewhere = await commands.findPrune(
        'i-0bbbbbbbbbbbbbbb2',
        'event-mine'
      );
      const comment = await commands.commentOf(other);

      // Assess
      expect(found).toBe(mine);
      expect(none).toBeUndefined();
      expect(elsewhere).toBeUndefined();
      expect(comment).toBe(
        'pullmedic event-older prod/ip-10-0-1-1.ec2.internal/20261120T090000Z'
      );
    });
  });

  describe('Method: getInvocation', () => {
    it('reads the invocation SSM keeps for the command and instance', async () => {
      // Prepare
      const commands = new SsmNodeCommands(ssm, DOCUMENTS, 600);
      const id = await commands.sendPrune(
        'i-0123456789abcdef1',
        'pullmedic-test-prune',
        { DryRun: ['true'] },
        'x'
      );

      // Act
      const invocation = await commands.getInvocation(
        id,
        'i-0123456789abcdef1'
      );

      // Assess: moto runs nothing and reports Success with empty output.
      expect(invocation.status).toBe('Success');
      expect(invocation.stdout).toBe('');
    });

    it('wraps the SDK error with the action when the invocation does not exist', async () => {
      // Prepare
      const commands = new SsmNodeCommands(ssm, DOCUMENTS, 600);
      const id = await commands.sendPrune(
        'i-0123456789abcdef2',
        'pullmedic-test-prune',
        { DryRun: ['true'] },
        'x'
      );

      // Act
      const reading = commands.getInvocation(id, 'i-0ffffffffffffffff');

      // Assess
      await expect(reading).rejects.toThrow(AwsCallError);
      await expect(reading).rejects.toThrow(/InvocationDoesNotExist/);
    });
  });
});

describe('Class: SsmControlSwitch (against moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let ssm: SSMClient;

  beforeAll(async () => {
    aws = await startTestAws();
    ssm = new SSMClient(aws.clientConfig);
  });
  afterAll(async () => {
    await aws.stop();
  });

  describe('Method: mode', () => {
    it('uses the default while the parameter does not exist', async () => {
      // Prepare
      const control = new SsmControlSwitch(
        ssm,
        '/pullmedic/test/absent',
        'live',
        30,
        () => new Date()
      );

      // Act
      const mode = await control.mode();

      // Assess
      expect(mode).toBe('live');
    });

    it('reads off, and caches it for the cache period', async () => {
      // Prepare
      await ssm.send(
        new PutParameterCommand({
          Name: '/pullmedic/test/mode',
          Value: 'off',
          Type: 'String',
        })
      );
      let now = new Date('2026-11-20T10:00:00Z');
      const control = new SsmControlSwitch(
        ssm,
        '/pullmedic/test/mode',
        'live',
        30,
        () => now
      );

      // Act
      const first = await control.mode();
      await ssm.send(
        new PutParameterCommand({
          Name: '/pullmedic/test/mode',
          Value: 'live',
          Type: 'String',
          Overwrite: true,
        })
      );
      const cached = await control.mode();
      now = new Date('2026-11-20T10:00:31Z');
      const fresh = await control.mode();

      // Assess
      expect([first, cached, fresh]).toEqual(['off', 'off', 'live']);
    });

    it('falls back to dry-run on a value it does not know', async () => {
      // Prepare
      await ssm.send(
        new PutParameterCommand({
          Name: '/pullmedic/test/bad',
          Value: 'yolo',
          Type: 'String',
        })
      );
      const control = new SsmControlSwitch(
        ssm,
        '/pullmedic/test/bad',
        'live',
        30,
        () => new Date()
      );

      // Act
      const mode = await control.mode();

      // Assess
      expect(mode).toBe('dry-run');
    });

    it.each([
      ['throttled', false],
      ['access-denied', true],
    ] as const)(
      'fails, not falls to dry-run, when the read is %s',
      async (kind, permanent) => {
        // Prepare: a real client to moto whose GetParameter fails as AWS's would.
        await ssm.send(
          new PutParameterCommand({
            Name: `/pullmedic/test/${kind}`,
            Value: 'live',
            Type: 'String',
          })
        );
        const failing = new SSMClient(aws.clientConfig);
        failing.middlewareStack.add(
          () => async () => {
            throw sdkError(kind, 'ssm:GetParameter');
          },
          { step: 'initialize', name: 'injectedFault' }
        );
        const control = new SsmControlSwitch(
          failing,
          `/pullmedic/test/${kind}`,
          'live',
          30,
          () => new Date()
        );

        // Act
        const read = control.mode();

        // Assess: an error the handler retries or dead-letters, never a mode.
        await expect(read).rejects.toBeInstanceOf(AwsCallError);
        await expect(read).rejects.toMatchObject({ permanent });
      }
    );
  });
});
