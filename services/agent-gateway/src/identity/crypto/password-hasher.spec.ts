import { PasswordHasher } from './password-hasher';

describe('PasswordHasher (scrypt)', () => {
  const hasher = new PasswordHasher();

  it('hashes with a random salt and verifies', async () => {
    const h1 = await hasher.hash('correct horse battery staple');
    const h2 = await hasher.hash('correct horse battery staple');
    expect(h1).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(h1).not.toBe(h2);
    expect(await hasher.verify('correct horse battery staple', h1)).toBe(true);
    expect(await hasher.verify('Correct horse battery staple', h1)).toBe(false);
  });

  it('fails closed on missing or unreadable hashes', async () => {
    expect(await hasher.verify('x', null)).toBe(false);
    expect(await hasher.verify('x', 'bcrypt$whatever')).toBe(false);
    expect(await hasher.verify('x', 'scrypt$99999999999$8$1$c2FsdA==$aGFzaA==')).toBe(false);
  });
});
