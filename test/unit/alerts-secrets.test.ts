// Secret scrubbing does not depend on exact bytes: every encoding a message can carry,
// any length, checked over generated secrets (fast-check, seeded and bounded).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Scrubber, secretForms } from '../../src/alerts/secrets.ts';
import { smtpFailureText } from '../../src/alerts/channels/email.ts';

const SEED = 1515;

/** What a server, a library or a log could echo for a password. */
function echoes(secret: string, user: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  return [
    secret,
    bytes.toString('latin1'),
    encodeURIComponent(secret),
    bytes.toString('base64'),
    bytes.toString('base64').replace(/=+$/, ''),
    Buffer.from(`\u0000${user}\u0000${secret}`).toString('base64'),
    Buffer.from(`${user}\u0000${user}\u0000${secret}`).toString('base64'),
    Buffer.from(`${user}:${secret}`).toString('base64'),
    JSON.stringify(secret).slice(1, -1),
  ];
}

describe('Scrubber', () => {
  it('masks every echo of any secret, 1 character or 40, ASCII or not', () => {
    const secret = fc.string({ unit: fc.constantFrom(...'aZ9é€😀ß-_+ /:%'.split(/(?:)/u)), minLength: 1, maxLength: 40 }).filter((s) => !s.includes('*') && s.trim() === s && s.length > 0);
    fc.assert(
      fc.property(secret, (pass) => {
        const scrubber = new Scrubber().add(pass, 'bot');
        for (const echo of echoes(pass, 'bot')) {
          const shown = scrubber.scrub(`535 5.7.8 rejected (${echo}) for bot`);
          expect(shown, `echo ${JSON.stringify(echo)} of ${JSON.stringify(pass)}`).not.toContain(`(${echo})`);
        }
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('masks a short password and its base64, without eating the letters of other words', () => {
    const scrubber = new Scrubber().add('ab', 'u');
    expect(scrubber.scrub('password ab rejected')).toBe('password *** rejected');
    expect(scrubber.scrub(`auth ${Buffer.from('ab').toString('base64')}`)).toBe('auth ***');
    expect(scrubber.scrub('table abacus')).toBe('table abacus');
  });

  it('masks a non-ASCII password echoed back as latin1 (the bytes read one by one)', () => {
    const pass = 'pässwörd';
    const latin1 = Buffer.from(pass).toString('latin1');
    expect(latin1).not.toBe(pass);
    expect(new Scrubber().add(pass).scrub(`bad login ${latin1}`)).toBe('bad login ***');
    expect(secretForms(pass)).toContain(latin1);
  });
});

describe('SMTP authentication failures', () => {
  it('keep the reply code and drop the text a server may fill with the credentials', () => {
    const error = Object.assign(new Error('Invalid login: 535 5.7.8 pass=PÃ¤ss not accepted'), { code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN' });
    const text = smtpFailureText(error);
    expect(text).toContain('authentication failed (SMTP 535)');
    expect(text).not.toContain('PÃ¤ss');
  });
});
