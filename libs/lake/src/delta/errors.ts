/** A concurrent commit makes ours invalid; the caller re-reads the table and decides. */
export class DeltaConflictError extends Error {
  constructor(
    message: string,
    readonly kind: 'transaction' | 'delete' | 'metadata',
    /** The version that won. */
    readonly winningVersion: number,
  ) {
    super(message);
  }
}

/**
 * An application transaction (e.g. a stream's batch) whose version is not above the one the table
 * already holds: the batch was committed before, so it is refused rather than written twice.
 */
export class DeltaTxnReplayError extends Error {
  constructor(
    readonly appId: string,
    readonly attemptedVersion: number,
    readonly committedVersion: number,
  ) {
    super(`transaction ${appId} version ${attemptedVersion} is not above the committed version ${committedVersion}`);
  }
}

export class DeltaTableNotFoundError extends Error {
  constructor(readonly location: string) {
    super(`no Delta table at ${location} (no _delta_log/00000000000000000000.json)`);
  }
}
