/** HTML that is already safe to send: built by `markup` or taken as is with `raw`. */
export class Html {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Markup written here, not built from data. */
export function raw(markup: string): Html {
  return new Html(markup);
}

function part(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(part).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/**
 * The console's templates (not named `html`, so that formatters leave their text alone): every interpolated value is escaped unless it is Html itself, so data from the
 * services (user ids, profile text, table rows) can never become markup. Arrays are joined; null,
 * undefined and false render as nothing.
 */
export function markup(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += part(values[i]) + strings[i + 1];
  return new Html(out);
}
