import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

interface StackParams {
  namePatterns(param: string, value: unknown): string[];
  nodeRoleArns(ctx: { resolveVariable: Resolve }): Promise<unknown>;
  nodeInstanceProfileArns(ctx: { resolveVariable: Resolve }): Promise<unknown>;
}
type Resolve = (variable: string) => Promise<unknown>;

// osls loads it with require(), so the test does too.
const params = createRequire(import.meta.url)(
  '../../../infra/serverless/params.cjs'
) as StackParams;

/** osls's resolveVariable, over the params a stage and --param would give. */
const resolver =
  (given: Record<string, unknown>): Resolve =>
  async (variable) => {
    const name = variable.replace(/^param:/, '');
    if (name in given) return given[name];
    // What osls throws when no stage and no --param sets it.
    throw Object.assign(new Error('Value not found at "param" source'), {
      code: 'MISSING_VARIABLE_RESULT',
    });
  };

const iamArn = (type: string) => (pattern: string) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:${type}/${pattern}`,
});
const roleArn = iamArn('role');
const profileArn = iamArn('instance-profile');

describe('Module: infra/serverless/params.cjs', () => {
  describe('Function: nodeRoleArns', () => {
    it('refuses a stack without nodeRoleNamePattern, saying how to give it', async () => {
      // Act
      const result = params.nodeRoleArns({ resolveVariable: resolver({}) });

      // Assess
      await expect(result).rejects.toThrow(
        /nodeRoleNamePattern is required: .*--param="nodeRoleNamePattern=<names>"/
      );
    });

    it.each(['*', '?*', '**/*', 'a*', 'ab*', '*-node-role', 'eks-node-*,*'])(
      'refuses %j, which could match any role',
      async (pattern) => {
        // Act
        const result = params.nodeRoleArns({
          resolveVariable: resolver({ nodeRoleNamePattern: pattern }),
        });

        // Assess
        await expect(result).rejects.toThrow(/could match roles of anyone/);
      }
    );

    it.each(['eks-node-role"}]}', 'eks node', '', ' , '])(
      'refuses %j, which is not an IAM name pattern',
      async (pattern) => {
        // Act
        const result = params.nodeRoleArns({
          resolveVariable: resolver({ nodeRoleNamePattern: pattern }),
        });

        // Assess
        await expect(result).rejects.toThrow(
          /not an IAM name pattern|is empty/
        );
      }
    );

    it('turns each pattern of a comma-separated --param into a role ARN', async () => {
      // Act
      const arns = await params.nodeRoleArns({
        resolveVariable: resolver({
          nodeRoleNamePattern: 'eks-node-*, AmazonEKSNodeRole',
        }),
      });

      // Assess
      expect(arns).toEqual([
        roleArn('eks-node-*'),
        roleArn('AmazonEKSNodeRole'),
      ]);
    });

    it('takes a YAML list from params.<stage> too', async () => {
      // Act
      const arns = await params.nodeRoleArns({
        resolveVariable: resolver({
          nodeRoleNamePattern: ['prod-gpu-node-*', 'nodes/prod-general-*'],
        }),
      });

      // Assess
      expect(arns).toEqual([
        roleArn('prod-gpu-node-*'),
        roleArn('nodes/prod-general-*'),
      ]);
    });

    it('hands on what osls needs to resolve first', async () => {
      // Prepare: params cannot be read yet; osls asks again later.
      const notYet = Object.assign(new Error('Cannot resolve variable'), {
        code: 'MISSING_VARIABLE_DEPENDENCY',
      });

      // Act
      const result = params.nodeRoleArns({
        resolveVariable: async () => {
          throw notYet;
        },
      });

      // Assess
      await expect(result).rejects.toBe(notYet);
    });
  });

  describe('Function: nodeInstanceProfileArns', () => {
    it('defaults to the role name patterns', async () => {
      // Act
      const arns = await params.nodeInstanceProfileArns({
        resolveVariable: resolver({ nodeRoleNamePattern: 'eks-node-*' }),
      });

      // Assess
      expect(arns).toEqual([profileArn('eks-node-*')]);
    });

    it('takes its own patterns, checked the same way', async () => {
      // Act
      const own = params.nodeInstanceProfileArns({
        resolveVariable: resolver({
          nodeRoleNamePattern: 'eksctl-prod-nodegroup-*',
          nodeInstanceProfileNamePattern:
            'eksctl-prod-nodegroup-*-NodeInstanceProfile-*',
        }),
      });
      const unsafe = params.nodeInstanceProfileArns({
        resolveVariable: resolver({
          nodeRoleNamePattern: 'eksctl-prod-nodegroup-*',
          nodeInstanceProfileNamePattern: '*',
        }),
      });

      // Assess
      await expect(own).resolves.toEqual([
        profileArn('eksctl-prod-nodegroup-*-NodeInstanceProfile-*'),
      ]);
      await expect(unsafe).rejects.toThrow(
        /nodeInstanceProfileNamePattern "\*" could match roles of anyone/
      );
    });
  });
});
