import type {
  BatchHandler,
  Transport,
  TransportSubscribeOptions,
  TransportSubscription,
  WireMessage,
} from './transport';

/** Namespaces every topic as `<prefix>.<topic>` (KAFKA_TOPIC_PREFIX: clusters shared by several installs, tests). */
export class PrefixedTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly prefix: string,
  ) {}
  get id() {
    return this.inner.id;
  }
  private to(t: string): string {
    return `${this.prefix}.${t}`;
  }
  private from(t: string): string {
    return t.startsWith(`${this.prefix}.`) ? t.slice(this.prefix.length + 1) : t;
  }
  connect(): Promise<void> {
    return this.inner.connect();
  }
  ensureTopics(topics: string[]): Promise<void> {
    return this.inner.ensureTopics(topics.map((t) => this.to(t)));
  }
  send(messages: WireMessage[]): Promise<void> {
    return this.inner.send(messages.map((m) => ({ ...m, topic: this.to(m.topic) })));
  }
  subscribe(
    group: string,
    topics: string[],
    handler: BatchHandler,
    options?: TransportSubscribeOptions,
  ): Promise<TransportSubscription> {
    return this.inner.subscribe(
      group,
      topics.map((t) => this.to(t)),
      (batch, ctx) =>
        handler(
          batch.map((m) => ({ ...m, topic: this.from(m.topic) })),
          { ...ctx, commit: (m) => ctx.commit({ ...m, topic: this.to(m.topic) }) },
        ),
      options,
    );
  }
  async lag(group: string, topics: string[]): Promise<Record<string, number>> {
    const raw = await this.inner.lag(
      group,
      topics.map((t) => this.to(t)),
    );
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [this.from(k), v]));
  }
  healthy(): Promise<boolean> {
    return this.inner.healthy();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
