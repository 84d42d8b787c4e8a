import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

// One logger, one metrics and one tracer per function instance, configured
// by the POWERTOOLS_* environment variables serverless.yml sets.
export const logger = new Logger({ serviceName: 'pullmedic' });
export const metrics = new Metrics({
  namespace: 'pullmedic',
  serviceName: 'pullmedic',
});
export const tracer = new Tracer({ serviceName: 'pullmedic' });
