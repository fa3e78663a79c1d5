// Child of bench/cold-start.ts: imports one bundled handler in a fresh Node process (as a Lambda
// cold start does) and prints, in ms, Node's own start (from the process's start to this module's
// first line) and the module initialisation, as JSON.
const started = performance.now();
await import(process.argv[2]);
process.stdout.write(JSON.stringify({ startMs: started, initMs: performance.now() - started }));
