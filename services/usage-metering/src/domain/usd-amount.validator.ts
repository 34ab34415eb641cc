import { registerDecorator, type ValidationOptions } from 'class-validator';
import { isUsdAmount } from './money';

/** A non-negative USD amount with at most `maxDecimals` decimals, as a decimal string or a plain JSON number. */
export function IsUsdAmount(maxDecimals = 6, options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isUsdAmount',
      target: target.constructor,
      propertyName,
      options: {
        message: `${propertyName} must be a non-negative USD amount with at most ${maxDecimals} decimals, e.g. "50" or "12.5"`,
        ...options,
      },
      validator: { validate: (value: unknown) => isUsdAmount(value, maxDecimals) },
    });
}
