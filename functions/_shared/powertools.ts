import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

// One logger, one metrics and one tracer per function instance, configured
// by the POWERTOOLS_* environment variables serverless.yml sets.
export const logger = new Logger({ serviceName: 'pullmedic' });
export const metrics = new Metrics({
  namespace: 'pullmedic',
  serviceName: 'pullmedic',
  // Its own warnings (an invocation with no metric) go out as the
  // function's structured log lines, at the log level the stage sets.
  logger,
});
export const tracer = new Tracer({ serviceName: 'pullmedic' });
