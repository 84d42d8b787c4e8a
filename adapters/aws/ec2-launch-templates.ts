import {
  CreateLaunchTemplateVersionCommand,
  DescribeLaunchTemplateVersionsCommand,
  type EC2Client,
  type RequestLaunchTemplateData,
} from '@aws-sdk/client-ec2';
import type { LaunchTemplateData, LaunchTemplates } from '../../core/ports.ts';
import { wrapAwsError } from './errors.ts';

/**
 * Fields DescribeLaunchTemplateVersions returns that CreateLaunchTemplate
 * Version does not accept; they are dropped from the copy.
 */
const RESPONSE_ONLY = ['Operator'] as const;

/**
 * Reads and writes launch template versions. New versions carry the whole
 * LaunchTemplateData, not a delta over SourceVersion: a BlockDeviceMappings
 * list replaces the inherited one anyway, and the copy is then exact on
 * AWS and on emulators that ignore SourceVersion (moto does).
 *
 * @example
 * ```ts
 * const templates = new Ec2LaunchTemplates(ec2);
 * const data = await templates.getVersion('lt-0abc…', 1);
 * ```
 */
export class Ec2LaunchTemplates implements LaunchTemplates {
  readonly #ec2: EC2Client;

  constructor(ec2: EC2Client) {
    this.#ec2 = ec2;
  }

  async getVersion(id: string, version: number): Promise<LaunchTemplateData> {
    try {
      const out = await this.#ec2.send(
        new DescribeLaunchTemplateVersionsCommand({
          LaunchTemplateId: id,
          Versions: [String(version)],
        })
      );
      const data = out.LaunchTemplateVersions?.[0]?.LaunchTemplateData;
      if (!data) throw new Error(`version ${version} of ${id} has no data`);
      return toRequestData(data as LaunchTemplateData);
    } catch (err) {
      throw wrapAwsError(`reading ${id} version ${version}`, err);
    }
  }

  async findVersion(
    id: string,
    afterVersion: number,
    mark: string
  ): Promise<number | undefined> {
    try {
      // Versions made after the one rolled from; a version this incident
      // made carries the mark at the head of its description.
      let NextToken: string | undefined;
      do {
        const out = await this.#ec2.send(
          new DescribeLaunchTemplateVersionsCommand({
            LaunchTemplateId: id,
            MinVersion: String(afterVersion + 1),
            ...(NextToken ? { NextToken } : {}),
          })
        );
        const found = out.LaunchTemplateVersions?.find(
          (v) =>
            v.VersionNumber !== undefined &&
            v.VersionNumber > afterVersion &&
            v.VersionDescription?.startsWith(mark)
        );
        if (found?.VersionNumber !== undefined) return found.VersionNumber;
        NextToken = out.NextToken;
      } while (NextToken);
      return undefined;
    } catch (err) {
      throw wrapAwsError(
        `looking for the version of ${id} marked ${mark}`,
        err
      );
    }
  }

  async createVersion(
    id: string,
    sourceVersion: number,
    data: LaunchTemplateData,
    description: string,
    clientToken: string
  ): Promise<number> {
    try {
      const out = await this.#ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: id,
          SourceVersion: String(sourceVersion),
          VersionDescription: description,
          LaunchTemplateData: data as RequestLaunchTemplateData,
          // The same token again returns the version it made (EC2's
          // idempotency; moto ignores it, so a retry also looks first).
          ClientToken: clientToken,
        })
      );
      const version = out.LaunchTemplateVersion?.VersionNumber;
      if (version === undefined) throw new Error('no VersionNumber returned');
      return version;
    } catch (err) {
      throw wrapAwsError(`creating a version of ${id}`, err);
    }
  }
}

/**
 * Turns response-shaped template data into request-shaped data.
 *
 * @example
 * ```ts
 * toRequestData({ MetadataOptions: { State: 'applied', HttpTokens: 'required' } });
 * // { MetadataOptions: { HttpTokens: 'required' } }
 * ```
 */
export function toRequestData(data: LaunchTemplateData): LaunchTemplateData {
  const copy: LaunchTemplateData = structuredClone(data);
  for (const field of RESPONSE_ONLY) delete copy[field];
  const metadata = copy.MetadataOptions as Record<string, unknown> | undefined;
  if (metadata) delete metadata.State;
  return copy;
}
