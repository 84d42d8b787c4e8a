import { DEFAULT_POLICY, type Policy } from '#core/policy.ts';
import type { PruneResultDeps } from '#core/prune-result.ts';
import type { RemediateDeps } from '#core/remediate.ts';
import type { RollVolumeDeps } from '#core/roll-volume.ts';
import { FakeControlSwitch } from './fake-control-switch.ts';
import { FakeLaunchTemplates } from './fake-launch-templates.ts';
import { FakeNodeCommands } from './fake-node-commands.ts';
import { FakeNodeDirectory } from './fake-node-directory.ts';
import { FakeRollouts } from './fake-rollouts.ts';
import { FixedClock } from './fixed-clock.ts';
import { InMemoryIncidentStore } from './in-memory-incident-store.ts';

/** Every fake the core's use cases take, wired once per test file. */
export interface FakeEnvironment
  extends RemediateDeps,
    PruneResultDeps,
    RollVolumeDeps {
  incidents: InMemoryIncidentStore;
  locks: InMemoryIncidentStore;
  commands: FakeNodeCommands;
  nodes: FakeNodeDirectory;
  launchTemplates: FakeLaunchTemplates;
  rollouts: FakeRollouts;
  control: FakeControlSwitch;
  clock: FixedClock;
  policy: Policy;
  /** Resets every fake and the policy. */
  reset(): void;
}

/**
 * The fakes behind the ports, as the composition root wires the adapters:
 * one store serves as both the incident store and the roll locks.
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
  const env: FakeEnvironment = {
    incidents,
    locks: incidents,
    commands: new FakeNodeCommands(),
    nodes: new FakeNodeDirectory(),
    launchTemplates: new FakeLaunchTemplates(),
    rollouts: new FakeRollouts(),
    control: new FakeControlSwitch(),
    clock: new FixedClock(),
    policy: { ...DEFAULT_POLICY },
    reset() {
      incidents.reset();
      env.commands.reset();
      env.nodes.reset();
      env.launchTemplates.reset();
      env.rollouts.reset();
      env.control.reset();
      env.clock.reset();
      env.policy = { ...DEFAULT_POLICY };
    },
  };
  return env;
}
