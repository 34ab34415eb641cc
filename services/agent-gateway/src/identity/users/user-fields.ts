import { Transform } from 'class-transformer';
import { ROLES } from '@hishamos/platform';

export const TEAM_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/** US dollars as a decimal: up to 9 integer digits and 6 decimals (never a float in storage). */
export const USD_DECIMAL = /^\d{1,9}(\.\d{1,6})?$/;
export const AGENT_SLUG = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
export const ROLE_LIST = [...ROLES];

/** Accepts 25, 25.5 or "25.50" and keeps it as the decimal string the client wrote. */
export const ToDecimalString = () =>
  Transform(({ value }) => (typeof value === 'number' && Number.isFinite(value) ? String(value) : value));

export const ToLowerTrimmed = () =>
  Transform(({ value }) => (typeof value === 'string' ? value.trim().toLowerCase() : value));
