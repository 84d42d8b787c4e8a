import { DEFAULT_POLICY, type Policy } from '#core/policy.ts';
import type { PruneResultDeps } from '#core/prune-result.ts';
import type { ReconcileDeps } from '#core/reconcile.ts';
import type { RemediateDeps } from '#core/remediate.ts';
import type { RollVolumeDeps } from '#core/roll-volume.ts';
import { FakeControlSwitch } from './fake-control-switch.ts';
import { FakeLaunchTemplates } from './fake-launch-templates.ts';
import { FakeNodeCommands } from './fake-node-commands.ts';
import { FakeNodeDirectory } from './fake-node-directory.ts';
import { FakeRollouts } from './fake-rollouts.ts';
import { FixedClock } from './fixed-clock.ts';
import { InMemoryIncidentStore } from './in-memory-incident-store.ts';
import { InMemoryRollLocks } from './in-memory-roll-locks.ts';
import { RecordingPublisher } from './recording-publisher.ts';

/** Every fake the core's use cases take, wired once per test file. */
export interface FakeEnvironment
  extends RemediateDeps,
    PruneResultDeps,
    RollVolumeDeps,
    ReconcileDeps {
  incidents: InMemoryIncidentStore;
  locks: InMemoryRollLocks;
  commands: FakeNodeCommands;
  nodes: FakeNodeDirectory;
  launchTemplates: FakeLaunchTemplates;
  rollouts: FakeRollouts;
  control: FakeControlSwitch;
  publisher: RecordingPublisher;
  clock: FixedClock;
  policy: Policy;
  /** Resets every fake and the policy. */
  reset(): void;
}

/**
 * The fakes behind the ports, as the composition root wires the adapters.
 *
 * @example
 * ```ts
 * const env = createFakeEnvironment();
 * beforeEach(() => env.reset());
 * await remediate(classified, run, env);
 * ```
 */
export function createFakeEnvironment(): FakeEnvironment {
  const incidents = new InMemoryIncidentStore();
  const locks = new InMemoryRollLocks();
  const env: FakeEnvironment = {
    incidents,
    locks,
    commands: new FakeNodeCommands(),
    nodes: new FakeNodeDirectory(),
    launchTemplates: new FakeLaunchTemplates(),
    rollouts: new FakeRollouts(),
    control: new FakeControlSwitch(),
    publisher: new RecordingPublisher(),
    maxWatchLooks: 72,
    clock: new FixedClock(),
    policy: { ...DEFAULT_POLICY },
    reset() {
      incidents.reset();
      locks.reset();
      env.commands.reset();
      env.nodes.reset();
      env.launchTemplates.reset();
      env.rollouts.reset();
      env.control.reset();
      env.publisher.reset();
      env.clock.reset();
      env.policy = { ...DEFAULT_POLICY };
    },
  };
  return env;
}
