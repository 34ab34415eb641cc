import { ValidateBy, type ValidationOptions } from 'class-validator';

/** Vault's custom_metadata limits: at most 64 keys, keys up to 128 bytes, values up to 512 bytes. */
export const METADATA_MAX_KEYS = 64;
const KEY = /^[A-Za-z0-9_.-]{1,128}$/;

export function isSecretMetadata(value: unknown): value is Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value as Record<string, unknown>);
  return (
    entries.length <= METADATA_MAX_KEYS &&
    entries.every(([k, v]) => KEY.test(k) && typeof v === 'string' && Buffer.byteLength(v) <= 512)
  );
}

/** Custom metadata of a secret: an object of string values (not secret: it is returned and audited). */
export function IsSecretMetadata(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSecretMetadata',
      validator: {
        validate: (value) => isSecretMetadata(value),
        defaultMessage: () =>
          `metadata must be an object of at most ${METADATA_MAX_KEYS} string values (keys [A-Za-z0-9_.-], values up to 512 bytes)`,
      },
    },
    options,
  );
}
