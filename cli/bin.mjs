#!/usr/bin/env node
// The `switchyard` command: runs cli/main.ts through tsx's loader (the sources are TypeScript).
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
