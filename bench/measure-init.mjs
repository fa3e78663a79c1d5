// Child of bench/cold-start.ts: imports one bundled handler in a fresh Node process (as a Lambda
// cold start does, minus the runtime's own start) and prints the module-initialisation time in ms.
const started = performance.now();
await import(process.argv[2]);
process.stdout.write(String(performance.now() - started));
