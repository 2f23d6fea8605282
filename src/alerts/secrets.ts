// Keeps secrets read from the environment (SMTP passwords, tokens, secret webhook URLs)
// out of every message, event and result the alerts capability produces.

const MASK = '***';

export class Scrubber {
  private readonly secrets: string[] = [];

  /** Registers a secret and the encodings SMTP AUTH puts on the wire (base64 of LOGIN and PLAIN). */
  add(secret: string | undefined, username?: string): this {
    // Short values would mask innocent text; env secrets shorter than 4 are not worth hiding.
    if (!secret || secret.length < 4) return this;
    const forms = [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')];
    if (username !== undefined) {
      forms.push(Buffer.from(`\u0000${username}\u0000${secret}`).toString('base64'));
      forms.push(Buffer.from(`${username}\u0000${username}\u0000${secret}`).toString('base64'));
    }
    for (const form of forms) if (!this.secrets.includes(form)) this.secrets.push(form);
    // Longest first, so a secret containing another is masked whole.
    this.secrets.sort((a, b) => b.length - a.length);
    return this;
  }

  scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join(MASK);
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
