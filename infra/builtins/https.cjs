// Bundling alias for 'https' and 'node:https' (infra/bundling.ts): the module through CommonJS. An ES
// module import of it makes Node build an ES facade that reads every export, and node:http's lazy
// undici getters with them: about 20 ms of every function's cold start for code no step runs.
module.exports = process.getBuiltinModule('node:https');
