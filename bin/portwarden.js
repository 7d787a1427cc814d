#!/usr/bin/env node
// The portwarden binary. Node.js 24 runs the TypeScript sources directly (type stripping),
// so there is no build step between `npm ci` and `npx portwarden`.
import { runCli } from '../src/cli/main.ts';

await runCli();
