import { type MotoServer, startMoto } from '../../cli/local/moto.ts';

/**
 * A moto server for one test file, and SDK client settings that point at
 * it: real HTTP and real SDK serialisation against the emulator, one
 * attempt (moto answers 500 for what it lacks; a retry would repeat side
 * effects).
 *
 * @example
 * ```ts
 * const aws = await startTestAws();
 * const ec2 = new EC2Client(aws.clientConfig);
 * await aws.stop();
 * ```
 */
export async function startTestAws(
  options: { amisPath?: string; unpatched?: boolean } = {}
) {
  const moto: MotoServer = await startMoto(options);
  return {
    endpoint: moto.endpoint,
    clientConfig: {
      endpoint: moto.endpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    },
    stop: () => moto.stop(),
  };
}
