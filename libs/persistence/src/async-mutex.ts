/** A FIFO mutex: `acquire()` resolves with a release function once every earlier holder released. */
export class AsyncMutex {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  get queued(): number {
    return this.waiting;
  }

  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const ready = this.tail.then(() => {
      this.waiting--;
      let done = false;
      return () => {
        if (!done) {
          done = true;
          release();
        }
      };
    });
    this.waiting++;
    this.tail = this.tail.then(() => next);
    return ready;
  }
}
