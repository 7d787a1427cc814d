#!/usr/bin/env node
// The portwarden binary. Node.js 24 runs the TypeScript sources directly (type stripping),
// so there is no build step between `npm ci` and `npx portwarden`.
import { enableCompileCache } from 'node:module';

// V8 keeps the compiled code of every module it loads on disk (in the system temp directory,
// or $NODE_COMPILE_CACHE), so a command's second start skips parsing and type stripping: it
// halves the time to a sidecar's first ready. Where the directory cannot be written, nothing
// is cached and nothing fails.
enableCompileCache();
const { runCli } = await import('../src/cli/main.ts');
await runCli();
