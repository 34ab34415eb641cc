import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { IsIn, IsObject } from 'class-validator';
import { CurrentIdentity, ServiceOnly, type Identity } from '@hishamos/platform';
import {
  RecordSignalCommand,
  RecordSignalUseCase,
  SIGNAL_TYPES,
} from '../usecases/record-signal/record-signal.usecase';

export class SignalDto {
  @IsIn(SIGNAL_TYPES)
  type!: (typeof SIGNAL_TYPES)[number];

  @IsObject()
  fields!: Record<string, unknown>;
}

/** Platform signals that are not Kafka events (a DLQ'd message, a pool sample), from the platform's services. */
@Controller('internal/v1/signals')
export class SignalsController {
  constructor(private readonly record: RecordSignalUseCase) {}

  @ServiceOnly()
  @Post()
  @HttpCode(202)
  async post(@Body() body: SignalDto, @CurrentIdentity() who: Identity) {
    const s = await this.record.execute(
      new RecordSignalCommand({ type: body.type, service: who.subject, fields: body.fields }),
    );
    return { accepted: true, notified: s.notified };
  }
}
