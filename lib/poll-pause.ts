/**
 * A worker loop's pause between polls of the database, cut short by kick() when there is news (work stored or
 * finished, a retry due, the worker stopping). A kick that comes while the loop is busy makes the next pause
 * return at once, so no news is missed between two polls.
 */
export class PollPause {
  private kicked = false;
  private wake?: () => void;

  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** Waits up to `ms`; returns at once after a kick, or when `skip` (the worker is stopping). */
  wait(ms: number, skip = false): Promise<void> {
    if (this.kicked || skip) {
      this.kicked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.kicked = false;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.wake = finish;
    });
  }
}
