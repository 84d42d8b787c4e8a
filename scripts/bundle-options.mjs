// The esbuild options every function bundle is built with: the function
// bundles (scripts/build-functions.mjs, which says why each is set) and
// the floor bundles their cold start is measured against
// (scripts/build-floors.mjs), so the two differ in what they import only.
import { ESM_BANNER } from './esm-banner.mjs';

export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  mainFields: ['module', 'main'],
  banner: { js: ESM_BANNER },
  minify: false,
  sourcemap: 'external',
  treeShaking: true,
  metafile: true,
  logLevel: 'warning',
};
