#!/usr/bin/env node
// The pullmedic CLI. Node 22 runs the TypeScript sources directly (type
// stripping); npm scripts put the project's Node 22 first on PATH.
import { main } from '../cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
