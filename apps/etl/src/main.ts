import 'reflect-metadata';
import { createApp } from './app.factory';

createApp().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
