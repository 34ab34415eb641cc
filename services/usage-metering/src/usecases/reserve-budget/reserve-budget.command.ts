import { IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** The gateway asks to hold the worst-case cost of one provider call (POST /internal/v1/reservations). */
export class ReserveBudgetCommand {
  /** The call's idempotency key: the same request gets the same reservation. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  requestId!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  userId!: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  teamId?: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  provider!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  model!: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  agent?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  command?: string;

  /** Prompt tokens (counted or estimated by the gateway). */
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  inputTokens!: number;

  /** The call's max_tokens: the most output it can be billed for. */
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  maxOutputTokens!: number;
}
