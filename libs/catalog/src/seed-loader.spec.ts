import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CatalogError } from './catalog-error';
import { makeValidCatalog } from './catalog.fixtures';
import type { Catalog } from './catalog.types';
import { loadCatalog, readCatalog } from './seed-loader';

let dir: string;

function write(file: string, content: unknown): void {
  mkdirSync(join(dir, file, '..'), { recursive: true });
  writeFileSync(join(dir, file), typeof content === 'string' ? content : stringify(content));
}

function writeCatalog(catalog: Catalog): void {
  for (const agent of catalog.agents) write(`agents/${agent.slug}.yaml`, agent);
  for (const [agent, commands] of Object.entries(catalog.commands))
    write(`commands/${agent}.yaml`, { agent, commands });
  for (const workflow of catalog.workflows) write(`workflows/${workflow.id}.yaml`, workflow);
}

function catalogError(): CatalogError {
  try {
    loadCatalog(dir);
  } catch (error) {
    if (error instanceof CatalogError) return error;
    throw error;
  }
  throw new Error('loadCatalog did not throw');
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'catalog-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loadCatalog', () => {
  it('reads agents, commands by agent and workflows from YAML', () => {
    const expected = makeValidCatalog();
    writeCatalog(expected);
    write('README.md', 'ignored');
    const catalog = loadCatalog(dir);
    expect(catalog.agents).toHaveLength(15);
    expect(catalog.agents.map((a) => a.slug)).toEqual([...expected.agents.map((a) => a.slug)].sort());
    expect(catalog.commands).toEqual(expected.commands);
    expect(catalog.workflows).toEqual(expected.workflows);
  });

  it('throws a CatalogError listing every problem with its file and field', () => {
    const catalog = makeValidCatalog();
    catalog.commands.coding[0].difficulty = 9;
    writeCatalog(catalog);
    write('agents/legal.yaml', 'slug: legal\nname: [unclosed\n');
    write('agents/extra.yaml', { ...catalog.agents[0], slug: 'other' });
    write('commands/hr.yaml', { agent: 'hr', commands: 'none' });
    write('workflows/misnamed.yaml', { ...catalog.workflows[0] });
    const error = catalogError();
    expect(error.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: 'agents/legal.yaml', message: expect.stringContaining('YAML syntax error') }),
        { file: 'agents/extra.yaml', field: 'slug', message: 'must equal the file name "extra"' },
        { file: 'commands/hr.yaml', field: 'commands', message: 'must be array' },
        { file: 'workflows/misnamed.yaml', field: 'id', message: 'must equal the file name "misnamed"' },
        { file: 'commands/coding.yaml', field: 'commands.write_code.difficulty', message: 'must be <= 5' },
        expect.objectContaining({
          file: 'agents/legal.yaml',
          message: 'agent "legal" of FORMAT.md\'s roster is missing',
        }),
      ]),
    );
    expect(error.message).toContain('commands/coding.yaml: commands.write_code.difficulty: must be <= 5');
    expect(error.message).toMatch(/^The seed catalog has \d+ problems:\n {2}- /);
  });

  it('reports duplicate YAML keys and a non-mapping file', () => {
    write('agents/a.yaml', 'slug: a\nslug: b\n');
    write('agents/b.yaml', '- just a list\n');
    write('commands/a.yaml', 'agent: a\ncommands: []\n');
    const { problems } = readCatalog(dir);
    expect(problems).toEqual([
      expect.objectContaining({ file: 'agents/a.yaml', message: expect.stringContaining('Map keys must be unique') }),
      { file: 'agents/b.yaml', field: '(root)', message: 'the file must contain a YAML mapping' },
    ]);
  });

  it('reports missing directories and a second commands file for the same agent', () => {
    expect(readCatalog(dir).problems).toEqual([
      { file: 'agents/', field: '(directory)', message: `directory ${join(dir, 'agents')} does not exist` },
      { file: 'commands/', field: '(directory)', message: `directory ${join(dir, 'commands')} does not exist` },
    ]);
    write('commands/qa.yaml', { agent: 'qa', commands: [] });
    write('commands/qa2.yaml', { agent: 'qa', commands: [] });
    expect(readCatalog(dir).problems).toEqual(
      expect.arrayContaining([
        { file: 'commands/qa2.yaml', field: 'agent', message: 'must equal the file name "qa2"' },
        { file: 'commands/qa2.yaml', field: 'agent', message: 'agent "qa" already has commands in commands/qa.yaml' },
      ]),
    );
  });
});
