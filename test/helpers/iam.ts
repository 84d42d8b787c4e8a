import { readCloudFormationYaml as readYaml } from './cloudformation.ts';

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
