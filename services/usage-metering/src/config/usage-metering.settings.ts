import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsString,
  Max,
  Min,
  Validate,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { isValidTimeZone } from '../domain/periods';

@ValidatorConstraint({ name: 'timeZone' })
class IanaTimeZone implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && isValidTimeZone(value);
  }
  defaultMessage(): string {
    return 'BUDGET_TIME_ZONE must be an IANA time zone such as UTC, Europe/Berlin or Asia/Riyadh';
  }
}

/** usage-metering's own environment, validated at boot. */
export class UsageMeteringSettings {
  /** Budget days, weeks (from Monday) and months start at midnight in this zone; usage days too. */
  @IsString()
  @Validate(IanaTimeZone)
  BUDGET_TIME_ZONE = 'UTC';

  /** How long an unsettled reservation holds budget before it expires (a crashed gateway cannot leak budget). */
  @Type(() => Number)
  @IsInt()
  @Min(5)
  @Max(86_400)
  RESERVATION_TTL_SECONDS = 600;

  /**
   * Whether a reservation's commit waits for the WAL flush. off (default): the counter rows are locked
   * for the statement only, not for a disk sync, which keeps round trips around a millisecond and
   * hot budgets (a global limit) from serialising on fsync. Grants stay atomic and exact under
   * concurrency either way; with off, a Postgres crash can forget the holds granted in its last few
   * hundred milliseconds (their usage is still metered when it arrives). on: fully durable holds.
   */
  @IsIn(['on', 'off'])
  RESERVATION_SYNCHRONOUS_COMMIT: 'on' | 'off' = 'off';

  /** How often expired reservations are released and the utilisation gauge refreshed. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(600_000)
  RESERVATION_SWEEP_INTERVAL_MS = 5000;

  /** Closed reservations are deleted after this many days (request ids stay idempotent until then). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3650)
  RESERVATION_RETENTION_DAYS = 7;

  /** Usage records written per transaction. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(5000)
  USAGE_INGEST_BATCH_SIZE = 500;

  /** Kafka partitions ingested at the same time (each holds a database connection while it runs). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  USAGE_INGEST_CONCURRENCY = 3;
}
