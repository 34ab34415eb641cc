/**
 * Runs `pass` repeatedly: again at once while it reports progress, otherwise after `intervalMs` or as soon
 * as `wake()` is called. One pass at a time; `stop()` waits for the pass in progress. `wake(true)` says there
 * is work for certain: the next pass gets `hinted` true (it may skip looking whether there is any).
 */
export class PollingLoop {
  private running = false;
  private loop?: Promise<void>;
  private woken = false;
  private hinted = false;
  private wakeUp?: () => void;

  constructor(
    private readonly name: string,
    private readonly pass: (hinted: boolean) => Promise<boolean>,
    private readonly intervalMs: number,
    private readonly onError: (name: string, error: unknown) => void,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  wake(hinted = false): void {
    this.woken = true;
    if (hinted) this.hinted = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wakeUp?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      this.woken = false;
      const hinted = this.hinted;
      this.hinted = false;
      let progressed = false;
      try {
        progressed = await this.pass(hinted);
        failures = 0;
      } catch (error) {
        failures++;
        if (this.running) this.onError(this.name, error);
      }
      if (!this.running) break;
      if (progressed && failures === 0) continue;
      if (this.woken && failures === 0) continue;
      const wait = failures > 0 ? Math.min(5000, this.intervalMs * 2 ** Math.min(failures, 5)) : this.intervalMs;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, wait);
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.wakeUp = done;
      });
      this.wakeUp = undefined;
    }
  }
}
