import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import {
  CreateImageCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { afterAll } from 'vitest';
import { Ec2NodeDirectory } from '../../../adapters/aws/ec2-node-directory.ts';
import { provisionFleet } from '../../../cli/local/fleet.ts';
import { describeNodeDirectoryContract } from '../../contracts/node-directory.contract.ts';
import { startTestAws } from '../../helpers/moto.ts';

// The EC2 directory on the local emulator, held to the same contract as
// the in-memory fake (test/unit/contracts/fake-node-directory.test.ts):
// the fleet is created as EKS, Auto Scaling and Karpenter would have.
const AMIS = new URL('../../../cli/local/amis.json', import.meta.url).pathname;

let stop: (() => Promise<void>) | undefined;
afterAll(async () => {
  await stop?.();
});

describeNodeDirectoryContract('EC2 on the local emulator', async (fleet) => {
  const aws = await startTestAws({ amisPath: AMIS });
  stop = aws.stop;
  const ec2 = new EC2Client(aws.clientConfig);
  const eks = new EKSClient(aws.clientConfig);
  const nodes = await provisionFleet(fleet, {
    ec2,
    eks,
    autoscaling: new AutoScalingClient(aws.clientConfig),
  });
  // An image of no EKS family: made from a fleet node and named as
  // Canonical names theirs, so only its name tells it apart.
  const image = await ec2.send(
    new CreateImageCommand({
      InstanceId: nodes[0]?.instanceId,
      Name: 'ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261101',
    })
  );
  const foreign = await ec2.send(
    new RunInstancesCommand({
      ImageId: image.ImageId,
      MinCount: 1,
      MaxCount: 1,
      BlockDeviceMappings: [
        { DeviceName: '/dev/sda1', Ebs: { VolumeSize: 30 } },
      ],
    })
  );
  return {
    directory: new Ec2NodeDirectory(ec2, eks),
    nodes,
    foreignInstanceId: foreign.Instances?.[0]?.InstanceId as string,
    terminate: async (instanceId) => {
      await ec2.send(
        new TerminateInstancesCommand({ InstanceIds: [instanceId] })
      );
    },
  };
});
