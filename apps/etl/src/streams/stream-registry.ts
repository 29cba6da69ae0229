import { Injectable } from '@nestjs/common';
import type { StreamRunner } from './stream-runner';

/** The streams this replica runs, by name: what GetStatus, PauseStream and ResumeStream act on. */
@Injectable()
export class StreamRegistry {
  private readonly streams = new Map<string, StreamRunner<any, any>>();

  add(runner: StreamRunner<any, any>): void {
    if (this.streams.has(runner.name)) throw new Error(`stream ${runner.name} registered twice`);
    this.streams.set(runner.name, runner);
  }

  get(name: string): StreamRunner<any, any> | undefined {
    return this.streams.get(name);
  }

  all(): StreamRunner<any, any>[] {
    return [...this.streams.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async pauseAll(): Promise<void> {
    await Promise.all(this.all().map((s) => s.pause()));
  }
}
