import { isValidSecretFolder, isValidSecretPath } from './secret-path';

describe('secret paths', () => {
  it('accepts segment paths and refuses traversal, empty segments and odd characters', () => {
    for (const p of ['ai/platforms/openai', 'channels/slack/ops-team', 'a', 'x.y/z_1'])
      expect(isValidSecretPath(p)).toBe(true);
    for (const p of ['', '/a', 'a/', 'a//b', '../a', 'a/../b', 'a/./b', '.', 'a b', 'a?b', 'a%2fb', 'x'.repeat(513)])
      expect(isValidSecretPath(p)).toBe(false);
  });

  it('accepts folders ending in / and the root', () => {
    expect(isValidSecretFolder('')).toBe(true);
    expect(isValidSecretFolder('ai/platforms/')).toBe(true);
    expect(isValidSecretFolder('ai/platforms')).toBe(false);
    expect(isValidSecretFolder('/')).toBe(false);
  });
});
