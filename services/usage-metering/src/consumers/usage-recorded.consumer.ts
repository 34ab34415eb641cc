import { Inject, Injectable } from '@nestjs/common';
import { Topics } from '@hishamos/contracts';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { MeteringConfig } from '../config/metering-config';
import { InvalidUsageRecordError } from '../domain/usage-record';
import { IngestUsageCommand, IngestUsageUseCase } from '../usecases/ingest-usage/ingest-usage.usecase';

/**
 * Consumes UsageRecorded in batches (one transaction per batch; exactly once by request id), in the
 * service's consumer group for the topic (`ctx.groupOf`: `<KAFKA_TOPIC_PREFIX>.hishamos.usage-metering.<topic>`).
 * Bad records go to the DLQ with their reason.
 */
@Injectable()
export class UsageRecordedConsumer {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly config: MeteringConfig,
    private readonly ingest: IngestUsageUseCase,
  ) {}

  async start(): Promise<void> {
    await this.ctx.subscribeBatch(
      Topics.UsageRecorded,
      async (events, { tx, outbox }) => {
        try {
          await this.ingest.execute(new IngestUsageCommand(events, tx, outbox));
        } catch (error) {
          if (!(error instanceof InvalidUsageRecordError))
            this.ctx.logger.warn({ err: error, events: events.length }, 'usage batch failed; the bus retries it');
          throw error;
        }
      },
      {
        maxBatchSize: this.config.settings.USAGE_INGEST_BATCH_SIZE,
        concurrency: this.ctx.db.kind === 'pglite' ? 1 : this.config.settings.USAGE_INGEST_CONCURRENCY,
        // Idempotent by request id (api_usage's unique key, ON CONFLICT DO NOTHING; nothing else is
        // written or published for a record seen before): no processed-event claims in the batch path.
        idempotentHandler: true,
        ...(this.config.settings.USAGE_INGEST_GATHER_MS > 0
          ? { gatherMs: this.config.settings.USAGE_INGEST_GATHER_MS, gatherBytes: 128 * 1024 }
          : {}),
      },
    );
  }
}
