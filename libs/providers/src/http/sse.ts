import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** One server-sent event: its `event:` name (null when none) and its joined `data:` lines. */
export interface SseEvent {
  event: string | null;
  data: string;
}

/**
 * An incremental server-sent events decoder (the WHATWG rules the SDKs follow: `\n`, `\r\n` or `\r`
 * line ends, `:` comments, one optional space after the colon, `data:` lines joined by `\n`, an
 * event dispatched at a blank line, an unterminated last event flushed by `end`).
 */
export class SseDecoder {
  #rest = '';
  #afterCr = false;
  #event: string | null = null;
  #data: string[] = [];

  /** Decodes `text` (the next piece of the stream), appending the events it completes to `out`. */
  push(text: string, out: SseEvent[]): void {
    if (this.#afterCr && text.charCodeAt(0) === 10) text = text.slice(1);
    this.#afterCr = false;
    if (text.includes('\r')) {
      this.#afterCr = text.charCodeAt(text.length - 1) === 13;
      text = text.replace(/\r\n?/g, '\n');
    }
    const s = this.#rest ? this.#rest + text : text;
    let start = 0;
    for (let nl = s.indexOf('\n'); nl !== -1; nl = s.indexOf('\n', start)) {
      this.#line(s.slice(start, nl), out);
      start = nl + 1;
    }
    this.#rest = start === 0 ? s : s.slice(start);
  }

  /** The stream ended: flushes a last line and event that had no terminating blank line. */
  end(out: SseEvent[]): void {
    if (this.#rest) this.#line(this.#rest, out);
    this.#rest = '';
    this.#line('', out);
  }

  #line(line: string, out: SseEvent[]): void {
    if (line.length === 0) {
      if (this.#event !== null || this.#data.length > 0) {
        out.push({ event: this.#event, data: this.#data.length === 1 ? this.#data[0] : this.#data.join('\n') });
        this.#event = null;
        this.#data = [];
      }
      return;
    }
    if (line.startsWith('data: ')) {
      this.#data.push(line.slice(6));
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' a comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
  }
}

/**
 * Server-sent events read straight from a Node stream (an HTTP response), a batch per arriving piece
 * of the body: one promise per read rather than a web stream, a reader and several async generators
 * per event. `read()` resolves with the next batch, or null at the end of the stream; it rejects
 * when the stream fails or closes before its end. `close()` stops reading: a stream that ended is
 * left alone (its connection goes back to the pool), one still open is destroyed, which cancels
 * the request; `drain()` lets the rest of an answer that is no longer needed arrive and be dropped.
 */
export class SseReader {
  readonly #source: Readable;
  readonly #decoder = new SseDecoder();
  readonly #text = new StringDecoder('utf8');
  #queue: SseEvent[][] = [];
  #ended = false;
  #error?: Error;
  #waiter?: { resolve: (batch: SseEvent[] | null) => void; reject: (error: Error) => void };
  #closed = false;

  constructor(source: Readable) {
    this.#source = source;
    source.on('data', this.#onData);
    source.on('end', this.#onEnd);
    source.on('error', this.#onError);
    source.on('close', this.#onClose);
  }

  read(): Promise<SseEvent[] | null> {
    const batch = this.#queue.shift();
    if (batch) return Promise.resolve(batch);
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended || this.#closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  /** Stops reading; an unfinished stream is destroyed (the request is cancelled). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#detach();
    if (!this.#ended) this.#source.destroy();
  }

  /** Stops reading but lets the rest of the body arrive (and be dropped), so the connection is reused. */
  drain(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#detach();
    if (this.#ended) return;
    this.#source.on('error', () => undefined);
    this.#source.resume();
  }

  #detach(): void {
    this.#source.off('data', this.#onData);
    this.#source.off('end', this.#onEnd);
    this.#source.off('error', this.#onError);
    this.#source.off('close', this.#onClose);
    this.#queue = [];
    // A read still waiting ends: there is nothing more to read.
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve(null);
  }

  #deliver(batch: SseEvent[]): void {
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter.resolve(batch);
    } else this.#queue.push(batch);
  }

  readonly #onData = (chunk: Buffer | string): void => {
    const out: SseEvent[] = [];
    this.#decoder.push(typeof chunk === 'string' ? chunk : this.#text.write(chunk), out);
    if (out.length > 0) this.#deliver(out);
  };

  readonly #onEnd = (): void => {
    const out: SseEvent[] = [];
    const tail = this.#text.end();
    if (tail) this.#decoder.push(tail, out);
    this.#decoder.end(out);
    if (out.length > 0) this.#deliver(out);
    this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve(null);
  };

  #fail(error: Error): void {
    if (this.#ended || this.#error) return;
    this.#error = error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
  }

  readonly #onError = (error: Error): void => this.#fail(error);

  readonly #onClose = (): void => {
    if (!this.#ended) this.#fail(new Error('the event stream closed before its end (premature close)'));
  };
}
