import 'reflect-metadata';
import { runMain } from '@pulse/platform';
import { createApp } from './app.factory';

runMain(createApp);
