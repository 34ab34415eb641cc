import { Injectable } from '@nestjs/common';

/** Tells the delivery worker that deliveries were committed, so it sends them now instead of at its next poll. */
@Injectable()
export class DeliveryWaker {
  private listener?: () => void;

  listen(fn: () => void): void {
    this.listener = fn;
  }

  wake(): void {
    this.listener?.();
  }

  /** For transactions without commit hooks: wake shortly after (the commit should be visible by then; the poll is the backstop). */
  wakeSoon(): void {
    setTimeout(() => this.listener?.(), 25).unref();
  }
}
