// Keeps secrets read from the environment (SMTP passwords, tokens, secret webhook URLs)
// out of every message, event and result the alerts capability produces.

const MASK = '***';

/** Shorter secrets are masked only as whole tokens, so a one-letter password does not eat every "a". */
const SHORT = 4;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function base64Forms(bytes: Buffer): string[] {
  const standard = bytes.toString('base64');
  const url = bytes.toString('base64url');
  return [standard, standard.replace(/=+$/, ''), url];
}

/**
 * Every spelling a secret can take in a message: as typed; its UTF-8 bytes read as latin1
 * (how a server or a library that ignores the charset echoes it back); URL and form
 * encoding; JSON escapes; base64 (standard, unpadded, url-safe) of the secret and of the
 * SMTP AUTH PLAIN strings (\0user\0pass, user\0user\0pass).
 */
export function secretForms(secret: string, username?: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms = [
    secret,
    bytes.toString('latin1'),
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%20/g, '+'),
    escape(secret),
    JSON.stringify(secret).slice(1, -1),
    JSON.stringify(secret).slice(1, -1).replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`),
    ...base64Forms(bytes),
  ];
  if (username !== undefined) {
    forms.push(...base64Forms(Buffer.from(`\u0000${username}\u0000${secret}`, 'utf8')));
    forms.push(...base64Forms(Buffer.from(`${username}\u0000${username}\u0000${secret}`, 'utf8')));
    forms.push(...base64Forms(Buffer.from(`${username}:${secret}`, 'utf8')));
  }
  return [...new Set(forms.filter((form) => form.length > 0))];
}

export class Scrubber {
  private readonly secrets: string[] = [];

  /** Registers a secret (any length) and its encodings; the username adds the SMTP AUTH and Basic forms. */
  add(secret: string | undefined, username?: string): this {
    if (!secret) return this;
    for (const form of secretForms(secret, username)) if (!this.secrets.includes(form)) this.secrets.push(form);
    // Longest first, so a secret containing another is masked whole.
    this.secrets.sort((a, b) => b.length - a.length);
    return this;
  }

  get size(): number {
    return this.secrets.length;
  }

  scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (secret.length >= SHORT) out = out.split(secret).join(MASK);
      // A short one only where it stands alone (between non-alphanumerics or at either end).
      else out = out.replace(new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(secret)}(?![\\p{L}\\p{N}])`, 'gu'), MASK);
    }
    return out;
  }
}

/**
 * A URL safe to print: when the URL itself is secret (Slack hooks), only its origin;
 * otherwise without user:password and query string, where tokens tend to hide.
 */
export function displayUrl(url: string, secret: boolean): string {
  try {
    const parsed = new URL(url);
    if (secret) return `${parsed.origin}/${MASK}`;
    return `${parsed.origin}${parsed.pathname}${parsed.search ? `?${MASK}` : ''}`;
  } catch {
    return MASK;
  }
}
