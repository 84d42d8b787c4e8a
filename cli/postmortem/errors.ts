import { PullmedicError } from '../../core/errors.ts';

/**
 * A postmortem cannot be written: the input is missing or unreadable, or
 * it holds no incident. The message says what to do; the CLI prints it.
 *
 * @example
 * ```ts
 * throw new PostmortemError('no table: pass --table NAME', { cause });
 * ```
 */
export class PostmortemError extends PullmedicError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PostmortemError';
  }
}

/**
 * The table has no such incident: none for the node in that scope, or the
 * node's record is a later incident (a node keeps one record at a time).
 *
 * @example
 * ```ts
 * throw new IncidentNotFoundError(id, 'pullmedic-prod', 'live', newerId);
 * ```
 */
export class IncidentNotFoundError extends PostmortemError {
  readonly incidentId: string;
  readonly table: string;
  readonly scope: string;
  /** The node's incident in the table, when it is another one. */
  readonly current?: string;

  constructor(
    incidentId: string,
    table: string,
    scope: string,
    current?: string,
    options?: ErrorOptions
  ) {
    super(
      current === undefined
        ? `incident ${incidentId} not found: table ${table} has no incident for that node in scope ${scope} (expired after its TTL, or another scope: --scope dry-run, --scope replay:<name>)`
        : `incident ${incidentId} not found: table ${table} keeps one incident per node, and that node's is now ${current} (scope ${scope}); pullmedic postmortem ${current}`,
      options
    );
    this.name = 'IncidentNotFoundError';
    this.incidentId = incidentId;
    this.table = table;
    this.scope = scope;
    if (current !== undefined) this.current = current;
  }
}
