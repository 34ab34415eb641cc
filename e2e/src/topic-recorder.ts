import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { decodeEvent, dlqTopic, isTopic, TOPICS, type Envelope, type Topic } from '@hishamos/contracts';

export interface RecordedMessage {
  /** The topic without the install's prefix (e.g. hishamos.usage.recorded.v1 or ...v1.dlq). */
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  /** The decoded CloudEvent, when it is one (not for DLQ topics or undecodable records). */
  event?: Envelope;
}

/**
 * Reads every topic of one install (and its DLQs) from the beginning, in its own consumer group, and
 * keeps every record: the scenarios assert on the events, and the secrets check scans them all.
 */
export class TopicRecorder {
  readonly messages: RecordedMessage[] = [];
  private consumer?: Consumer;

  constructor(
    private readonly brokers: string[],
    private readonly prefix: string,
    private readonly groupId: string,
  ) {}

  async start(): Promise<void> {
    const kafka = new Kafka({
      brokers: this.brokers,
      clientId: 'e2e-recorder',
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 300, maxRetryTime: 5000 },
    });
    this.consumer = kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 200, sessionTimeout: 10000 });
    await this.consumer.connect();
    // Every topic the install created (its DLQs exist only for the topics someone consumes).
    const admin = kafka.admin();
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    await admin.disconnect();
    const topics = TOPICS.flatMap((t) => [t, dlqTopic(t)])
      .map((t) => `${this.prefix}.${t}`)
      .filter((t) => existing.has(t));
    await this.consumer.subscribe({ topics, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const name = topic.slice(this.prefix.length + 1);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) {
          const one = Array.isArray(v) ? v[v.length - 1] : v;
          if (one !== undefined) headers[k] = Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
        }
        const value = message.value ?? Buffer.alloc(0);
        const key = message.key?.toString('utf8') ?? '';
        let event: Envelope | undefined;
        if (isTopic(name)) {
          try {
            event = decodeEvent(name, key, value, headers);
          } catch {
            event = undefined;
          }
        }
        this.messages.push({ topic: name, partition, offset: message.offset, key, value, headers, event });
      },
    });
  }

  /** Decoded events of a topic (optionally filtered). */
  events<T extends Topic>(topic: T, filter: (e: Envelope<T>) => boolean = () => true): Envelope<T>[] {
    return this.messages
      .filter((m) => m.topic === topic && m.event)
      .map((m) => m.event as Envelope<T>)
      .filter(filter);
  }

  dlq(topic: Topic): RecordedMessage[] {
    return this.messages.filter((m) => m.topic === dlqTopic(topic));
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
