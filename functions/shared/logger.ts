import { Logger } from '@aws-lambda-powertools/logger';

/** The one Powertools logger; steps append `releaseId`, `target` and `colour` keys per request. */
export const logger = new Logger({ serviceName: 'switchyard' });
