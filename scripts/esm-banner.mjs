// The banner every esbuild ESM bundle of pullmedic starts with: bundled
// CommonJS dependencies (parts of the AWS SDK, @kubernetes/client-node)
// still call require() and read __filename/__dirname, which an ES module
// does not have.
export const ESM_BANNER = [
  "import { createRequire as __pullmedicCreateRequire } from 'node:module';",
  "import { fileURLToPath as __pullmedicFileURLToPath } from 'node:url';",
  "import { dirname as __pullmedicDirname } from 'node:path';",
  'const require = __pullmedicCreateRequire(import.meta.url);',
  'const __filename = __pullmedicFileURLToPath(import.meta.url);',
  'const __dirname = __pullmedicDirname(__filename);',
].join('\n');
