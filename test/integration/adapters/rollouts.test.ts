import {
  AutoScalingClient,
  StartInstanceRefreshCommand,
} from '@aws-sdk/client-auto-scaling';
import { EKSClient, UpdateNodegroupVersionCommand } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsRollouts } from '../../../adapters/aws/rollouts.ts';
import { AwsCallError } from '../../../core/errors.ts';

// moto has neither EKS UpdateNodegroupVersion (no route, HTTP 404) nor
// Auto Scaling StartInstanceRefresh (HTTP 500), so these two calls are
// covered with aws-sdk-client-mock. The request shapes follow the API
// references: EKS UpdateNodegroupVersion (clusterName, nodegroupName in the
// path; launchTemplate {id, version}, clientRequestToken in the body) and
// Auto Scaling StartInstanceRefresh (AutoScalingGroupName, Strategy
// Rolling, DesiredConfiguration.LaunchTemplate, Preferences; SkipMatching
// and AutoRollback both require a DesiredConfiguration).
describe('Class: AwsRollouts (calls moto lacks, on aws-sdk-client-mock)', () => {
  const eks = mockClient(EKSClient);
  const autoscaling = mockClient(AutoScalingClient);
  afterEach(() => {
    eks.reset();
    autoscaling.reset();
  });

  describe('Method: updateManagedNodegroup', () => {
    it('pins the new template version and returns the update id', async () => {
      // Prepare
      eks
        .on(UpdateNodegroupVersionCommand)
        .resolves({ update: { id: 'upd-1', status: 'InProgress' } });
      const rollouts = new AwsRollouts(
        new EKSClient({}),
        new AutoScalingClient({}),
        90
      );

      // Act
      const id = await rollouts.updateManagedNodegroup('prod', 'gpu', {
        id: 'lt-0abc',
        version: 7,
      });

      // Assess
      expect(id).toBe('upd-1');
      const input = eks.commandCalls(UpdateNodegroupVersionCommand)[0]?.args[0]
        .input;
      expect(input).toEqual({
        clusterName: 'prod',
        nodegroupName: 'gpu',
        launchTemplate: { id: 'lt-0abc', version: '7' },
        clientRequestToken: 'pullmedic-lt-0abc-7',
      });
    });

    it('wraps a refusal with the node group it was for', async () => {
      // Prepare
      eks.on(UpdateNodegroupVersionCommand).rejects(
        Object.assign(new Error('update in progress'), {
          name: 'ResourceInUseException',
        })
      );
      const rollouts = new AwsRollouts(
        new EKSClient({}),
        new AutoScalingClient({}),
        90
      );

      // Act
      const updating = rollouts.updateManagedNodegroup('prod', 'gpu', {
        id: 'lt-0abc',
        version: 7,
      });

      // Assess
      await expect(updating).rejects.toThrow(AwsCallError);
      await expect(updating).rejects.toThrow(
        /updating node group gpu failed: ResourceInUseException/
      );
    });
  });
});
