#!/usr/bin/env node
// The `switchyard` command: runs cli/main.ts through tsx's loader (the sources are TypeScript).
import { enableCompileCache } from 'node:module';
import { register } from 'tsx/esm/api';

// Node keeps the compiled code of every module it loads (in the OS temp directory) and reuses it
// while the file is unchanged: each command loads the SDK clients, the local runtime and the sources
// again, and compiling them was about a tenth of a `switchyard --local status`.
enableCompileCache();
register();
// The simulated functions' logger reads its level when first imported, which is before a local
// runtime could set it: without this their INFO lines reached the terminal after the summary.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
await import('./main.ts');
