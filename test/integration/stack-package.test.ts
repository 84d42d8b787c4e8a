// The stack as osls packages it, with what a real AWS account would refuse
// or regret checked on the template itself: the required node role param,
// iam:PassRole and ec2:RunInstances scoped to the node roles, parliament's
// findings, and every action a role allows being one its function's code
// can call (its bundle's AWS SDK commands, from esbuild's metafile).
//
// Offline like scripts/package-check.sh: dummy credentials, empty AWS config
// files, no instance metadata; parliament is installed into .venv from PyPI
// when missing (scripts/ensure-parliament.sh).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const osls = join(repo, 'node_modules/.bin/osls');
const ALLOWANCES = join(repo, 'infra/serverless/iam-findings-allowed.yml');
// The node role's name in the EKS user guide; scripts/package-check.sh's.
const NODE_ROLE = 'AmazonEKSNodeRole';

const OFFLINE_ENV = {
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
  AWS_ACCESS_KEY_ID: 'x',
  AWS_SECRET_ACCESS_KEY: 'x',
  AWS_REGION: 'us-east-1',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_EC2_METADATA_DISABLED: 'true',
};

interface Run {
  status: number | null;
  output: string;
}

const run = (command: string, args: string[]): Run => {
  const r = spawnSync(command, args, {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, ...OFFLINE_ENV, AWS_PROFILE: '' },
    timeout: 180_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
};

/** `osls package --stage ci` into `dir`, with the given extra options. */
const packageStack = (dir: string, ...options: string[]) =>
  run(osls, ['package', '--stage', 'ci', '--package', dir, ...options]);

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
interface Template {
  Resources: Record<
    string,
    {
      Type: string;
      Properties: {
        Handler?: string;
        Role?: { 'Fn::GetAtt': [string, string] };
        Policies?: { PolicyDocument: { Statement: Statement[] } }[];
      };
    }
  >;
}

const list = <T>(value: T | T[]): T[] =>
  Array.isArray(value) ? value : [value];

const statementsOf = (template: Template, role: string): Statement[] =>
  (template.Resources[role]?.Properties.Policies ?? []).flatMap(
    (p) => p.PolicyDocument.Statement
  );

/** Each function's bundle directory and role, as the template wires them. */
const functionsOf = (template: Template) =>
  Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::Lambda::Function')
    .map((r) => ({
      bundle: String(r.Properties.Handler).replace(/\/index\.handler$/, ''),
      role: r.Properties.Role?.['Fn::GetAtt'][0] ?? '',
    }));

// Actions a function's role holds that its code never calls, because AWS
// calls them with the role on the function's behalf.
const USED_BY_LAMBDA: Record<string, string> = {
  'logs:CreateLogStream': "the Lambda runtime writes the function's logs",
  'logs:PutLogEvents': "the Lambda runtime writes the function's logs",
  'xray:PutTraceSegments': 'Lambda sends its traces (tracing.lambda: true)',
  'xray:PutTelemetryRecords': 'Lambda sends its traces (tracing.lambda: true)',
  'sqs:ReceiveMessage': "the event source mapping polls the function's queue",
  'sqs:DeleteMessage': 'the event source mapping deletes a handled batch',
  'sqs:GetQueueAttributes': 'the event source mapping reads its queue',
};
const CHECKED_BY_AUTO_SCALING: Record<string, string> = {
  'ec2:RunInstances':
    'checked of the caller of StartInstanceRefresh with a launch template',
  'iam:PassRole': "checked when the template names the node's profile",
  'ec2:CreateTags': 'checked when the template has tag specifications',
};
const NOT_CALLED_BY_CODE: Record<string, Record<string, string>> = {
  'dist/functions/roll-volume': CHECKED_BY_AUTO_SCALING,
  'dist/functions/notify': {
    'kms:GenerateDataKey':
      "SNS makes a data key of the topic's key for the publisher",
    'kms:Decrypt': "SNS reads the publisher's data key back",
  },
};

// @aws-sdk/client-<name> → IAM service prefix, where the two differ.
const PREFIX: Record<string, string> = {
  'auto-scaling': 'autoscaling',
  eventbridge: 'events',
};

/** The IAM actions of the AWS SDK commands esbuild put in a bundle. */
function bundledActions(bundle: string): Set<string> {
  const meta = JSON.parse(
    readFileSync(join(repo, bundle, 'meta.json'), 'utf8')
  ) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const output = meta.outputs[`${bundle}/index.mjs`];
  const actions = new Set<string>();
  for (const input of Object.keys(output?.inputs ?? {})) {
    const m =
      /@aws-sdk\/client-([a-z0-9-]+)\/dist-es\/commands\/(\w+)Command\.js$/.exec(
        input
      );
    if (m) actions.add(`${PREFIX[m[1] as string] ?? m[1]}:${m[2]}`);
  }
  return actions;
}

let python = '';
const checkPolicies = (template: string, allowances?: string) =>
  run(python, [
    join(repo, 'scripts/check-iam-policies.py'),
    template,
    ...(allowances ? ['--allowances', allowances] : []),
  ]);

const work = mkdtempSync(join(tmpdir(), 'pullmedic-stack-'));
beforeAll(() => {
  const ensured = spawnSync(
    'bash',
    [join(repo, 'scripts/ensure-parliament.sh')],
    { encoding: 'utf8' }
  );
  if (ensured.status !== 0) throw new Error(ensured.stderr);
  python = ensured.stdout.trim();
  // Every packaging reads the staged SSM documents (dist/ssm), which a
  // fresh clone has not built yet: without them osls fails on those
  // variables before it checks any param.
  const built = run('node', [join(repo, 'scripts/build-functions.mjs')]);
  if (built.status !== 0) throw new Error(built.output);
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('Feature: the stack param nodeRoleNamePattern', () => {
  it('is required: packaging without it fails and says what to give', () => {
    // Act
    const result = packageStack(join(work, 'without'));

    // Assess
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('nodeRoleNamePattern is required');
    expect(result.output).toContain('--param="nodeRoleNamePattern=<names>"');
  });

  it('refuses a pattern that matches every role', () => {
    // Act
    const result = packageStack(
      join(work, 'star'),
      '--param=nodeRoleNamePattern=*'
    );

    // Assess
    expect(result.status).not.toBe(0);
    expect(result.output).toContain(
      'nodeRoleNamePattern "*" could match roles of anyone'
    );
  });
});

describe('Feature: the packaged template, with the node role CI gives', () => {
  const dir = join(work, 'ci');
  const templatePath = join(dir, 'cloudformation-template-update-stack.json');
  let template: Template;

  beforeAll(() => {
    const packaged = packageStack(
      dir,
      `--param=nodeRoleNamePattern=${NODE_ROLE}`
    );
    if (packaged.status !== 0) throw new Error(packaged.output);
    template = JSON.parse(readFileSync(templatePath, 'utf8')) as Template;
  }, 240_000);

  it('lets roll-volume pass only the node role, and only to EC2', () => {
    // Prepare
    const passRole = Object.keys(template.Resources).flatMap((role) =>
      statementsOf(template, role).filter(
        (s) => s.Effect === 'Allow' && list(s.Action).includes('iam:PassRole')
      )
    );

    // Assess: one statement in the whole stack, on the node role's ARN.
    expect(passRole).toHaveLength(1);
    expect(passRole[0]?.Resource).toEqual([
      {
        'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${NODE_ROLE}`,
      },
    ]);
    expect(JSON.stringify(passRole[0]?.Resource)).not.toMatch(/role\/\*/);
    expect(passRole[0]?.Condition).toEqual({
      StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' },
    });
  });

  it("routes SSM's terminal statuses of this stage's documents only", () => {
    // Prepare
    const patternOf = (name: string) =>
      (
        template.Resources[name] as unknown as {
          Properties: { EventPattern: { detail: Record<string, unknown> } };
        }
      ).Properties.EventPattern.detail;

    // Assess: serverless resolved the stage inside events/patterns.json.
    for (const rule of ['PruneResultRule', 'ForwardSsmRule']) {
      expect(patternOf(rule)['document-name']).toEqual([
        { prefix: 'pullmedic-ci-' },
      ]);
    }
    expect(patternOf('PruneResultRule').status).toEqual([
      'Success',
      'Failed',
      'TimedOut',
      'Cancelled',
    ]);
  });

  it("denies the launch check for an instance profile that is not a node's", () => {
    // Prepare
    const deny = statementsOf(template, 'RollVolumeRole').find(
      (s) => s.Sid === 'NoLaunchCheckWithOtherInstanceProfiles'
    );

    // Assess
    expect(deny).toMatchObject({
      Effect: 'Deny',
      Action: 'ec2:RunInstances',
      Condition: {
        Null: { 'ec2:InstanceProfile': 'false' },
        ArnNotLike: {
          'ec2:InstanceProfile': [
            {
              'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:instance-profile/${NODE_ROLE}`,
            },
          ],
        },
      },
    });
  });

  it('has no parliament finding beyond the allowed ones, and no wildcard action', () => {
    // Act
    const result = checkPolicies(templatePath, ALLOWANCES);

    // Assess
    expect(result.status, result.output).toBe(0);
    expect(result.output).toMatch(
      /check-iam-policies: \d+ policies .* 0 problems/
    );
  });

  it('grants each function only actions its code calls, or AWS calls for it', () => {
    // Prepare
    const functions = functionsOf(template);
    expect(functions.map((f) => f.bundle).sort()).toEqual([
      'dist/functions/classify',
      'dist/functions/notify',
      'dist/functions/prune-result',
      'dist/functions/reconcile',
      'dist/functions/remediate',
      'dist/functions/resolve',
      'dist/functions/roll-volume',
      'dist/functions/watch-rollout',
    ]);

    // Act
    const uncalled = functions.flatMap(({ bundle, role }) => {
      const calls = bundledActions(bundle);
      expect(calls.size, `${bundle}: no AWS SDK command found`).toBeGreaterThan(
        0
      );
      const notByCode = { ...USED_BY_LAMBDA, ...NOT_CALLED_BY_CODE[bundle] };
      return statementsOf(template, role)
        .filter((s) => s.Effect === 'Allow')
        .flatMap((s) => list(s.Action))
        .filter((action) => !calls.has(action) && !(action in notByCode))
        .map((action) => `${role}: ${action}`);
    });

    // Assess
    expect(uncalled).toEqual([]);
  });
});

describe('Script: check-iam-policies.py', () => {
  /** A template of one role with one inline policy of `statements`. */
  const templateWith = (name: string, statements: unknown[]) => {
    const path = join(work, `${name}.json`);
    writeFileSync(
      path,
      JSON.stringify({
        Resources: {
          FnRole: {
            Type: 'AWS::IAM::Role',
            Properties: {
              AssumeRolePolicyDocument: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Effect: 'Allow',
                    Principal: { Service: 'lambda.amazonaws.com' },
                    Action: 'sts:AssumeRole',
                  },
                ],
              },
              Policies: [
                {
                  PolicyName: 'fn',
                  PolicyDocument: {
                    Version: '2012-10-17',
                    Statement: statements,
                  },
                },
              ],
            },
          },
          Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
        },
      })
    );
    return path;
  };
  const sendToQueue = {
    Sid: 'Send',
    Effect: 'Allow',
    Action: 'sqs:SendMessage',
    Resource: { 'Fn::GetAtt': ['Queue', 'Arn'] },
  };

  it('passes a policy that names its actions and resources', () => {
    // Act
    const result = checkPolicies(templateWith('good', [sendToQueue]));

    // Assess
    expect(result.status, result.output).toBe(0);
  });

  it.each([
    ['*', '*'],
    ['service:*', 'sqs:*'],
    ['a prefix', 'sqs:Send*'],
  ])('fails on a wildcard action: %s', (_, action) => {
    // Act
    const result = checkPolicies(
      templateWith('wildcard', [{ ...sendToQueue, Action: action }])
    );

    // Assess
    expect(result.status).toBe(1);
    expect(result.output).toContain(`wildcard action '${action}'`);
  });

  it('fails on iam:PassRole on every role, or to any service', () => {
    // Act
    const result = checkPolicies(
      templateWith('passrole', [
        {
          Sid: 'PassAny',
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: {
            'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/*`,
          },
        },
      ])
    );

    // Assess
    expect(result.status).toBe(1);
    expect(result.output).toContain('can pass any role in the account');
    expect(result.output).toContain('without an iam:PassedToService condition');
  });

  it('fails on a parliament finding, and passes it once allowed with a reason', () => {
    // Prepare: an action IAM does not know (no trailing s).
    const template = templateWith('unknown', [
      { ...sendToQueue, Action: 'sqs:SendMessages' },
    ]);
    const allowances = join(work, 'allow-unknown.yml');
    writeFileSync(
      allowances,
      [
        '- policy: FnRole/fn',
        '  issue: UNKNOWN_ACTION',
        '  why: a test of the allowance file',
      ].join('\n')
    );

    // Act
    const refused = checkPolicies(template);
    const allowed = checkPolicies(template, allowances);

    // Assess
    expect(refused.status).toBe(1);
    expect(refused.output).toContain('FnRole/fn: UNKNOWN_ACTION');
    expect(allowed.status, allowed.output).toBe(0);
  });

  it('fails on an allowance that accepts nothing, and on one without a reason', () => {
    // Prepare
    const stale = join(work, 'allow-stale.yml');
    writeFileSync(
      stale,
      '- {policy: FnRole/fn, issue: RESOURCE_STAR, why: gone since}\n'
    );
    const reasonless = join(work, 'allow-reasonless.yml');
    writeFileSync(reasonless, '- {policy: FnRole/fn, issue: RESOURCE_STAR}\n');
    const template = templateWith('good-again', [sendToQueue]);

    // Act
    const staleResult = checkPolicies(template, stale);
    const reasonlessResult = checkPolicies(template, reasonless);

    // Assess
    expect(staleResult.status).toBe(1);
    expect(staleResult.output).toContain('matched no finding: remove it');
    expect(reasonlessResult.status).toBe(2);
    expect(reasonlessResult.output).toContain('lacks why');
  });
});
