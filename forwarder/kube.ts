import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeCallError } from './errors.ts';
import type { KubeObject } from './event.ts';

/** One page of a list: raw objects, the list's resourceVersion, continue. */
export interface ListPage {
  items: KubeObject[];
  resourceVersion: string;
  continue: string | undefined;
}

/**
 * GETs a list from the API server as raw JSON. The generated clients of
 * @kubernetes/client-node turn timestamps into Date objects and drop
 * fields they do not know; the forwarder sends the event as the API server
 * wrote it, the same shape the watch stream delivers.
 *
 * @example
 * ```ts
 * const page = await listPage(kc, '/api/v1/events', {
 *   fieldSelector: 'type=Warning',
 *   limit: 500,
 * });
 * ```
 */
export async function listPage(
  kc: KubeConfig,
  path: string,
  query: Record<string, string | number | undefined>,
  signal?: AbortSignal
): Promise<ListPage> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new KubeCallError(`GET ${path}: no current cluster`);
  const url = new URL(server + path);
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  }
  const opts: RequestOptions & { headers: Record<string, string> } = {
    method: 'GET',
    headers: { Accept: 'application/json' },
  };
  await kc.applyToHTTPSOptions(opts);
  const { status, body } = await new Promise<{ status: number; body: string }>(
    (resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        { ...opts, ...(signal ? { signal } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
            })
          );
          res.on('error', reject);
        }
      );
      req.on('error', reject);
      req.end();
    }
  ).catch((err: unknown) => {
    throw new KubeCallError(`GET ${url.pathname}`, undefined, { cause: err });
  });
  if (status !== 200) {
    throw new KubeCallError(`GET ${url.pathname}`, status, {
      cause: new Error(body.slice(0, 500)),
    });
  }
  const list = JSON.parse(body) as {
    items?: KubeObject[];
    metadata?: { resourceVersion?: string; continue?: string };
  };
  return {
    items: list.items ?? [],
    resourceVersion: list.metadata?.resourceVersion ?? '',
    continue: list.metadata?.continue || undefined,
  };
}
