import { EventEmitter } from "node:events";

/**
 * In-process "something happened to run X" signal: the event stream wakes at once for runs this process
 * executes, and falls back to polling the database for runs executed elsewhere.
 */
export class RunEventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  notify(runId: string): void {
    this.emitter.emit(runId);
  }

  subscribe(runId: string, listener: () => void): () => void {
    this.emitter.on(runId, listener);
    return () => this.emitter.off(runId, listener);
  }
}
