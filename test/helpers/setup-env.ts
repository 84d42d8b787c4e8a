// Environment shared by every test: no real credentials, one region, quiet
// Powertools. Tests that talk to moto set AWS_ENDPOINT_URL themselves.
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'testing';
process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';
process.env.POWERTOOLS_SERVICE_NAME ??= 'pullmedic';
process.env.POWERTOOLS_METRICS_NAMESPACE ??= 'pullmedic';
