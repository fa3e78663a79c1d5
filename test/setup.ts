import 'aws-sdk-client-mock-vitest/extend';

// Steps' logs are noise in test output; a test that needs them sets the level itself.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
