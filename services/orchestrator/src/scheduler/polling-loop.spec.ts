import { PollingLoop } from './polling-loop';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('PollingLoop', () => {
  it('runs again at once while passes make progress, then waits for a wake-up or the interval', async () => {
    let work = 3;
    let passes = 0;
    const loop = new PollingLoop(
      'test',
      async () => {
        passes++;
        if (work > 0) {
          work--;
          return true;
        }
        return false;
      },
      60000,
      () => undefined,
    );
    loop.start();
    await tick(20);
    expect(passes).toBe(4); // three with progress, one that found nothing
    work = 1;
    loop.wake();
    await tick(20);
    expect(passes).toBe(6);
    await loop.stop();
  });

  it('tells the next pass when a wake-up said there is work for certain', async () => {
    const hints: boolean[] = [];
    const loop = new PollingLoop(
      'hinted',
      async (hinted) => {
        hints.push(hinted);
        return false;
      },
      60000,
      () => undefined,
    );
    loop.start();
    await tick(20);
    loop.wake(true);
    await tick(20);
    loop.wake();
    await tick(20);
    expect(hints).toEqual([false, true, false]);
    await loop.stop();
  });

  it('reports failures and keeps going after a back-off', async () => {
    const errors: unknown[] = [];
    let passes = 0;
    const loop = new PollingLoop(
      'failing',
      async () => {
        passes++;
        if (passes === 1) throw new Error('database down');
        return false;
      },
      5,
      (_name, e) => errors.push(e),
    );
    loop.start();
    await tick(60);
    await loop.stop();
    expect(errors).toHaveLength(1);
    expect(passes).toBeGreaterThan(1);
  });

  it('stop waits for the pass in progress', async () => {
    let finished = false;
    const loop = new PollingLoop(
      'slow',
      async () => {
        await tick(30);
        finished = true;
        return false;
      },
      60000,
      () => undefined,
    );
    loop.start();
    await tick(5);
    await loop.stop();
    expect(finished).toBe(true);
  });
});
