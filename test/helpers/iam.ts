import { readFile } from 'node:fs/promises';
import {
  CORE_SCHEMA,
  defineMappingTag,
  defineScalarTag,
  defineSequenceTag,
  load,
  mergeTag,
} from 'js-yaml';

const repo = new URL('../../', import.meta.url);

/** CloudFormation's short-form functions, kept as `{ Fn: value }`: only their shape matters here. */
const CLOUDFORMATION_TAGS = [
  'Base64',
  'Cidr',
  'Condition',
  'Equals',
  'FindInMap',
  'GetAtt',
  'GetAZs',
  'If',
  'ImportValue',
  'Join',
  'Not',
  'Or',
  'And',
  'Ref',
  'Select',
  'Split',
  'Sub',
].flatMap((fn) => [
  defineScalarTag(`!${fn}`, {
    resolve: (source) => ({ [fn]: source }),
    identify: () => false,
  }),
  defineSequenceTag<unknown[], Record<string, unknown>>(`!${fn}`, {
    create: () => [],
    addItem: (items, item) => {
      items.push(item);
    },
    finalize: (items) => ({ [fn]: items }),
    identify: () => false,
  }),
  defineMappingTag<Map<unknown, unknown>, Record<string, unknown>>(`!${fn}`, {
    create: () => new Map(),
    addPair: (pairs, key, value) => {
      pairs.set(key, value);
      return '';
    },
    has: (pairs, key) => pairs.has(key),
    keys: (result) => Object.keys(result),
    get: (result, key) => result[String(key)],
    finalize: (pairs) => ({ [fn]: Object.fromEntries(pairs) }),
    identify: () => false,
  }),
]);

const SCHEMA = CORE_SCHEMA.withTags(mergeTag, ...CLOUDFORMATION_TAGS);

const readYaml = async (path: string) =>
  load(await readFile(new URL(path, repo), 'utf8'), { schema: SCHEMA });

interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
}
interface Role {
  Type: string;
  Properties: {
    Policies?: { PolicyDocument: { Statement: Statement[] } }[];
  };
}

/**
 * The IAM actions each function's role allows (serverless.yml's `role:`
 * → infra/serverless/iam.yml), actions only: the resources and conditions
 * that narrow them are read by people and by cfn-lint, not here.
 *
 * @example
 * ```ts
 * (await allowedActions()).classify; // ['ec2:DescribeInstances', …]
 * ```
 */
export async function allowedActions(): Promise<Record<string, string[]>> {
  const stack = (await readYaml('serverless.yml')) as {
    functions: Record<string, { role: string }>;
  };
  const iam = (await readYaml('infra/serverless/iam.yml')) as {
    Resources: Record<string, Role>;
  };
  return Object.fromEntries(
    Object.entries(stack.functions).map(([name, fn]) => {
      const role = iam.Resources[fn.role];
      if (role?.Type !== 'AWS::IAM::Role')
        throw new Error(`${name}: role ${fn.role} is not in iam.yml`);
      const actions = (role.Properties.Policies ?? [])
        .flatMap((p) => p.PolicyDocument.Statement)
        .filter((s) => s.Effect === 'Allow')
        .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
      return [name, actions];
    })
  );
}

/** Whether one of `allowed` (IAM patterns, `*` and `?` wildcards) grants `action`. */
export const grants = (allowed: string[], action: string): boolean =>
  allowed.some((pattern) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
      'i'
    ).test(action)
  );
