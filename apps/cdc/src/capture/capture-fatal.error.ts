import type { CdcConfig } from '../config/cdc.config';

/** A condition the service cannot recover from by reconnecting: it stops and says what to do. */
export class CaptureFatalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureFatalError';
  }
}

/** The slot is gone after its snapshot: changes since its last confirmation may be lost, so capture must not go on. */
export function slotLostError(config: CdcConfig): CaptureFatalError {
  const { CDC_SLOT: slot, CDC_STATE_SCHEMA: schema } = config;
  return new CaptureFatalError(
    `replication slot "${slot}" no longer exists: changes made since it was last confirmed may not be on Kafka. ` +
      `Capture cannot resume without losing them. To start over with a new slot and a fresh initial snapshot, run ` +
      `DELETE FROM ${schema}.connector_state WHERE slot_name = '${slot}' and restart the service.`,
  );
}
