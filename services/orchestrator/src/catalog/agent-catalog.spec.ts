import { join } from 'node:path';
import { REPO_ROOT } from '@hishamos/platform';
import { AgentCatalog } from './agent-catalog';

const catalog = AgentCatalog.load(join(REPO_ROOT, 'seeds'));

describe('AgentCatalog', () => {
  it('knows each agent’s own concurrency limit from seeds/agents', () => {
    expect(catalog.agentLimit('security')).toBe(3);
    expect(catalog.agentLimit('coding')).toBe(5);
    expect(catalog.agentLimit('astrologer')).toBeUndefined();
    expect(catalog.agents()).toHaveLength(15);
  });

  it('checks command inputs, naming each bad field', () => {
    expect(catalog.validateCommandInputs('coding', 'write_code', { feature: 'x', language: 'Go' })).toEqual([]);
    expect(catalog.validateCommandInputs('coding', 'write_code', { feature: 'x' })).toEqual([
      { field: 'inputs.language', reason: 'is required but missing' },
    ]);
    expect(catalog.validateCommandInputs('coding', 'write_code', { feature: 'x', language: 'Go', colour: 1 })).toEqual([
      { field: 'inputs.colour', reason: 'is not an input of this command' },
    ]);
    expect(catalog.validateCommandInputs('astrologer', 'predict', {})).toEqual([
      { field: 'agent', reason: 'unknown agent "astrologer"' },
    ]);
    expect(catalog.validateCommandInputs('coding', 'sing', {})).toEqual([
      { field: 'command', reason: 'agent "coding" has no command "sing"' },
    ]);
  });

  it('turns numeric text into the declared type (the CLI sends k=v as text)', () => {
    const schema = { type: 'object', properties: { years: { type: 'integer', minimum: 1 } }, required: ['years'] };
    const inputs: Record<string, unknown> = { years: '5' };
    expect(catalog.validate(schema, inputs)).toEqual([]);
    expect(inputs.years).toBe(5);
    expect(catalog.validate(schema, { years: 'five' })).toEqual([{ field: 'inputs.years', reason: 'must be integer' }]);
  });
});
