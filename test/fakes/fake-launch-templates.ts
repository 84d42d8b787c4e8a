import type { LaunchTemplateData, LaunchTemplates } from '#core/ports.ts';

/** One createVersion call, as received. */
export interface CreatedVersion {
  id: string;
  sourceVersion: number;
  data: LaunchTemplateData;
  description: string;
  /** The number it was given; absent when the call failed. */
  version?: number;
}

/**
 * A hand-written LaunchTemplates: versions live in a map; createVersion
 * stores exactly the data it is given under the template's next number.
 *
 * @example
 * ```ts
 * const templates = new FakeLaunchTemplates();
 * templates.addVersion('lt-0abc', 3, data);
 * ```
 */
export class FakeLaunchTemplates implements LaunchTemplates {
  #versions = new Map<string, Map<number, LaunchTemplateData>>();
  #getError: Error | undefined;
  #createError: Error | undefined;

  calls: {
    getVersion: { id: string; version: number }[];
    createVersion: CreatedVersion[];
  } = { getVersion: [], createVersion: [] };

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
    this.#getError = error;
  }

  failCreateVersionWith(error: Error): void {
    this.#createError = error;
  }

  callCount(method: keyof FakeLaunchTemplates['calls']): number {
    return this.calls[method].length;
  }

  reset(): void {
    this.#versions.clear();
    this.#getError = undefined;
    this.#createError = undefined;
    this.calls = { getVersion: [], createVersion: [] };
  }

  async getVersion(id: string, version: number): Promise<LaunchTemplateData> {
    this.calls.getVersion.push({ id, version });
    if (this.#getError) throw this.#getError;
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
    description: string
  ): Promise<number> {
    const call: CreatedVersion = {
      id,
      sourceVersion,
      data: structuredClone(data),
      description,
    };
    this.calls.createVersion.push(call);
    if (this.#createError) throw this.#createError;
    const versions = this.#versions.get(id) ?? new Map();
    call.version = Math.max(0, ...versions.keys()) + 1;
    this.addVersion(id, call.version, data);
    return call.version;
  }
}
