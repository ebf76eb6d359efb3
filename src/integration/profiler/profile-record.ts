/** What a profile record describes: a `collective` record spans one rank's work of a collective (its waits included). */
export type ProfileKind = 'kernel' | 'memcpy' | 'memset' | 'hostFunction' | 'eventRecord' | 'wait' | 'synchronization' | 'runtime' | 'collective';

/** One span of a profile, on the clock shared by every thread (milliseconds). */
export interface ProfileRecord {
  kind: ProfileKind;
  /** Kernel name, or the API call. */
  name: string;
  /** Where it ran: 'host' for API calls, 'device' for execution in a device worker. */
  thread: 'host' | 'device';
  device: number;
  /** Stream index on its device (-1 when none applies). */
  stream: number;
  start: number;
  end: number;
  bytes: number;
  /** Correlation id: the API call and the device work it enqueued share one (several calls may, under pushCorrelationId). */
  correlation: number;
  /** The API call's own id (unique per call), shared by the device work it enqueued; 0 for spans of no call. A collective's rank record has the first span of its work on that rank. */
  span: number;
}

/**
 * A cross-stream dependency, by span: the work recorded by `from` is waited on by `to` (event
 * waits), or rank `from`'s part of a collective meets rank `to`'s (collective records' spans).
 */
export interface ProfileFlow {
  kind: 'eventWait' | 'collective';
  from: number;
  to: number;
}
