import { readFile } from 'node:fs/promises';
import {
  CORE_SCHEMA,
  defineMappingTag,
  defineScalarTag,
  defineSequenceTag,
  load,
  mergeTag,
} from 'js-yaml';

const repo = new URL('../../', import.meta.url);

/** CloudFormation's short-form functions, kept as `{ Fn: value }`: only their shape matters here. */
const CLOUDFORMATION_TAGS = [
  'Base64',
  'Cidr',
  'Condition',
  'Equals',
  'FindInMap',
  'GetAtt',
  'GetAZs',
  'If',
  'ImportValue',
  'Join',
  'Not',
  'Or',
  'And',
  'Ref',
  'Select',
  'Split',
  'Sub',
].flatMap((fn) => [
  defineScalarTag(`!${fn}`, {
    resolve: (source) => ({ [fn]: source }),
    identify: () => false,
  }),
  defineSequenceTag<unknown[], Record<string, unknown>>(`!${fn}`, {
    create: () => [],
    addItem: (items, item) => {
      items.push(item);
    },
    finalize: (items) => ({ [fn]: items }),
    identify: () => false,
  }),
  defineMappingTag<Map<unknown, unknown>, Record<string, unknown>>(`!${fn}`, {
    create: () => new Map(),
    addPair: (pairs, key, value) => {
      pairs.set(key, value);
      return '';
    },
    has: (pairs, key) => pairs.has(key),
    keys: (result) => Object.keys(result),
    get: (result, key) => result[String(key)],
    finalize: (pairs) => ({ [fn]: Object.fromEntries(pairs) }),
    identify: () => false,
  }),
]);

const SCHEMA = CORE_SCHEMA.withTags(mergeTag, ...CLOUDFORMATION_TAGS);

/** A YAML file of the repository, CloudFormation's short forms kept as `{ Fn: value }`. */
export const readCloudFormationYaml = async (path: string) =>
  load(await readFile(new URL(path, repo), 'utf8'), { schema: SCHEMA });
