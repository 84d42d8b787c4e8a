import type { LaunchTemplateData, LaunchTemplates } from '#core/ports.ts';
import { wrapAwsError } from '../../adapters/aws/errors.ts';
import { FailurePlan } from './failure-plan.ts';

/** One createVersion call, as received. */
export interface CreatedVersion {
  id: string;
  sourceVersion: number;
  data: LaunchTemplateData;
  description: string;
  clientToken: string;
  /** The number it was given; absent when the call failed. */
  version?: number;
}

/**
 * A hand-written LaunchTemplates: versions live in a map; createVersion
 * stores exactly the data it is given under the template's next number,
 * and, as EC2 does, a ClientToken seen before returns the version it made.
 * `lostResponses` makes createVersion create, then throw.
 *
 * @example
 * ```ts
 * const templates = new FakeLaunchTemplates();
 * templates.addVersion('lt-0abc', 3, data);
 * ```
 */
export class FakeLaunchTemplates implements LaunchTemplates {
  #versions = new Map<string, Map<number, LaunchTemplateData>>();
  #descriptions = new Map<string, string>();
  #tokens = new Map<string, number>();
  readonly failures = new FailurePlan<
    'getVersion' | 'createVersion' | 'findVersion'
  >();
  readonly lostResponses = new FailurePlan<'createVersion'>();

  calls: {
    getVersion: { id: string; version: number }[];
    createVersion: CreatedVersion[];
    findVersion: { id: string; afterVersion: number; mark: string }[];
  } = { getVersion: [], createVersion: [], findVersion: [] };

  addVersion(id: string, version: number, data: LaunchTemplateData): void {
    const versions = this.#versions.get(id) ?? new Map();
    versions.set(version, structuredClone(data));
    this.#versions.set(id, versions);
  }

  /** The data stored for a version, if any. */
  version(id: string, version: number): LaunchTemplateData | undefined {
    const data = this.#versions.get(id)?.get(version);
    return data ? structuredClone(data) : undefined;
  }

  failGetVersionWith(error: Error): void {
    this.failures.always('getVersion', error);
  }

  failCreateVersionWith(error: Error): void {
    this.failures.always('createVersion', error);
  }

  /** How many versions the template has. */
  versionCount(id: string): number {
    return this.#versions.get(id)?.size ?? 0;
  }

  callCount(method: keyof FakeLaunchTemplates['calls']): number {
    return this.calls[method].length;
  }

  reset(): void {
    this.#versions.clear();
    this.#descriptions.clear();
    this.#tokens.clear();
    this.failures.reset();
    this.lostResponses.reset();
    this.calls = { getVersion: [], createVersion: [], findVersion: [] };
  }

  async getVersion(id: string, version: number): Promise<LaunchTemplateData> {
    this.calls.getVersion.push({ id, version });
    this.#throwIfFailing('getVersion');
    const data = this.#versions.get(id)?.get(version);
    if (data === undefined) {
      const err = new Error(`version ${version} of ${id} does not exist`);
      err.name = 'InvalidLaunchTemplateId.VersionNotFound';
      throw err;
    }
    return structuredClone(data);
  }

  async createVersion(
    id: string,
    sourceVersion: number,
    data: LaunchTemplateData,
    description: string,
    clientToken: string
  ): Promise<number> {
    const call: CreatedVersion = {
      id,
      sourceVersion,
      data: structuredClone(data),
      description,
      clientToken,
    };
    this.calls.createVersion.push(call);
    this.#throwIfFailing('createVersion');
    const known = this.#tokens.get(`${id}#${clientToken}`);
    if (known !== undefined) {
      call.version = known;
      return known;
    }
    const versions = this.#versions.get(id) ?? new Map();
    call.version = Math.max(0, ...versions.keys()) + 1;
    this.addVersion(id, call.version, data);
    this.#descriptions.set(`${id}#${call.version}`, description);
    this.#tokens.set(`${id}#${clientToken}`, call.version);
    const lost = this.lostResponses.take('createVersion');
    if (lost) throw wrapAwsError('creating a version (in memory)', lost);
    return call.version;
  }

  async findVersion(
    id: string,
    afterVersion: number,
    mark: string
  ): Promise<number | undefined> {
    this.calls.findVersion.push({ id, afterVersion, mark });
    this.#throwIfFailing('findVersion');
    const versions = [...(this.#versions.get(id)?.keys() ?? [])].sort(
      (a, b) => a - b
    );
    return versions.find(
      (v) =>
        v > afterVersion &&
        this.#descriptions.get(`${id}#${v}`)?.startsWith(mark)
    );
  }

  #throwIfFailing(method: 'getVersion' | 'createVersion' | 'findVersion') {
    const error = this.failures.take(method);
    if (error) throw wrapAwsError(`${method} (in memory)`, error);
  }
}
