/** How local progress lines look on a terminal (the demo and `switchyard --local`). */
import type { ProgressLine } from './runtime.ts';

/** `+hh:mm:ss` since the start. */
export const clock = (ms: number) => {
  const s = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `+${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
};

/** One line: virtual time, the AWS service (or `step`), what happened. */
export const formatLine = (line: ProgressLine) => {
  const label = ['ecs', 'rds', 'elb', 'ecr', 'cw'].includes(line.source) ? line.source.toUpperCase() : 'step';
  return `${clock(line.elapsedMs)}  ${label.padEnd(5)} ${line.text}`;
};
