import { IsBoolean, IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class ChannelDto {
  @IsString()
  @Matches(/^[a-z][a-z0-9_.-]{1,63}$/, {
    message: 'name must be 2-64 characters: lower-case letters, digits, _ . - (starting with a letter)',
  })
  name!: string;

  @IsString()
  type!: string;

  /** Non-secret settings (addresses, URLs); credentials go in the secrets service at secretPath. */
  @IsOptional()
  @IsObject()
  config?: Record<string, unknown>;

  /** Where the channel's credential lives in the secrets service (channels/* or webhooks/*). */
  @IsOptional()
  @IsString()
  @MaxLength(255)
  secretPath?: string | null;

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

export class ChannelPatchDto {
  @IsOptional()
  @IsObject()
  config?: Record<string, unknown>;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  secretPath?: string | null;

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}
