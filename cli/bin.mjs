#!/usr/bin/env node
// The `switchyard` command: runs cli/main.ts through tsx's loader (the sources are TypeScript).
import { register } from 'tsx/esm/api';

register();
// The simulated functions' logger reads its level when first imported, which is before a local
// runtime could set it: without this their INFO lines reached the terminal after the summary.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
await import('./main.ts');
