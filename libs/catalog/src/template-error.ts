/** A template could not be rendered: `field` names the input (or `template`), `reason` says why. */
export class TemplateError extends Error {
  readonly field: string;
  readonly reason: string;

  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.name = 'TemplateError';
    this.field = field;
    this.reason = reason;
  }
}
