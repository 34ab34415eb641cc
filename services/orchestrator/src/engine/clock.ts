import { Injectable } from '@nestjs/common';

/** The time source of the engine (an adapter, so tests and replicas agree on what "now" means). */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
