import 'reflect-metadata';
import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
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

const toBoolean = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? ['1', 'true', 'yes', 'on'].includes(value.toLowerCase()) : value;

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
   * A budget lease (a slice of a user's budget a gateway grants calls from locally) takes at most 1/N
   * of the headroom of a team's or the platform's hard budget, so the leases of many users and gateway
   * replicas cannot take a shared budget's whole remainder. When the share is less than one call, no
   * lease is granted and the gateway reserves per call (exact near a limit).
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  BUDGET_LEASE_HEADROOM_SHARE = 20;

  /**
   * The same for the user's own hard budgets: at most 1/N of their headroom (each gateway replica the
   * user's calls reach may hold a lease).
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  BUDGET_LEASE_USER_HEADROOM_SHARE = 4;

  /**
   * Whether a reservation's commit waits for the WAL flush. off (default): the counter rows are locked
   * for the statement only, not for a disk sync, which keeps round trips around a millisecond and
   * hot budgets (a global limit) from serialising on fsync. Grants stay atomic and exact under
   * concurrency either way; with off, a Postgres crash can forget the holds granted in its last few
   * hundred milliseconds (their usage is still metered when it arrives). on: fully durable holds.
   */
  @IsIn(['on', 'off'])
  RESERVATION_SYNCHRONOUS_COMMIT: 'on' | 'off' = 'off';

  /**
   * Reservation requests decided together in one statement at most (those that arrive while others
   * are being decided; a request that finds a free slot goes alone at once).
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  RESERVATION_BATCH_MAX = 100;

  /** Reservation statements running at the same time (each holds a database connection while it runs). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  RESERVATION_BATCH_CONCURRENCY = 4;

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

  /**
   * Usage records written per transaction at most (a transaction takes what one fetch of a partition
   * holds, up to this). Larger batches amortise the per-transaction work and group more records per
   * daily aggregate and spend counter row.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(5000)
  USAGE_INGEST_BATCH_SIZE = 2000;

  /**
   * Whether this process consumes usage records. false: it serves the HTTP APIs (reservations, spend,
   * budgets, queries) only, so ingestion at full speed in other processes cannot delay its answers
   * (a Node process's work shares one event loop). Every process still runs the expiry sweeper.
   */
  @Transform(toBoolean)
  @IsBoolean()
  USAGE_INGEST_ENABLED = true;

  /** Kafka partitions ingested at the same time (each holds a database connection while it runs). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  USAGE_INGEST_CONCURRENCY = 3;

  /**
   * How long a fetch of usage records waits for a fuller batch (up to 128 KiB, a few hundred records)
   * before ingesting what came: at moderate rates fewer, larger transactions (each commit is a WAL
   * flush), at most this much later on the spend counters. 0: ingest as soon as anything arrives.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1000)
  USAGE_INGEST_GATHER_MS = 50;
}
