import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Min,
  Max,
} from 'class-validator';
import type { SecretMetadata } from '../../backends/secret-backend';
import { IsSecretMetadata } from '../../domain/secret-metadata';
import { MAX_PATH_LENGTH } from '../../domain/secret-path';
import { IsSecretPath, IsSecretValue } from '../../usecases/secret-command.fields';

export class PutSecretDto {
  @IsSecretPath()
  path!: string;

  @IsSecretValue()
  value!: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  cas?: number;

  @IsOptional()
  @IsSecretMetadata()
  metadata?: SecretMetadata;
}

export class SecretPathQueryDto {
  @IsSecretPath()
  path!: string;
}

export class GetSecretQueryDto extends SecretPathQueryDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  version?: number;
}

export class DeleteSecretQueryDto extends SecretPathQueryDto {
  /** A specific version to soft-delete; the latest when absent. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  version?: number;
}

export class RotateSecretDto {
  @IsSecretPath()
  path!: string;

  @IsSecretValue()
  value!: string;
}

export class SecretVersionsDto {
  @IsSecretPath()
  path!: string;

  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(1000)
  @IsInt({ each: true })
  @Min(1, { each: true })
  versions!: number[];
}

export class ListSecretsQueryDto {
  /** A folder ending in `/`; the root when absent. */
  @IsOptional()
  @IsString()
  @MaxLength(MAX_PATH_LENGTH + 1)
  folder?: string;
}

export class StorePlatformKeyDto {
  @IsSecretValue('apiKey')
  apiKey!: string;

  @IsOptional()
  @IsSecretMetadata()
  metadata?: SecretMetadata;
}

export class RotatePlatformKeyDto {
  @IsSecretValue('apiKey')
  apiKey!: string;
}

export class PlatformKeyQueryDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  version?: number;
}

export class PlatformParamDto {
  @Matches(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: 'platform must match ^[a-z0-9][a-z0-9_-]{0,62}$' })
  platform!: string;
}

export class RekeyDto {
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10000)
  batchSize?: number;
}
