import { readFileSync } from 'node:fs';

/** PEM material of a client's TLS towards a store (Kafka, Cassandra, Redis): CA bundle, client certificate and key. */
export interface ClientTlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * Reads the files a store client's TLS variables name (`<PREFIX>_TLS_CA_FILE`, `_CERT_FILE`, `_KEY_FILE`), adding to
 * `problems` a certificate without its key (or the reverse) and every file that cannot be read.
 */
export function readClientTlsFiles(
  prefix: string,
  config: Partial<Record<string, unknown>>,
  problems: { variable: string; message: string }[],
): ClientTlsFiles {
  const names = { ca: `${prefix}_TLS_CA_FILE`, cert: `${prefix}_TLS_CERT_FILE`, key: `${prefix}_TLS_KEY_FILE` };
  const file = (variable: string) => (typeof config[variable] === 'string' ? (config[variable] as string) : '');
  if (Boolean(file(names.cert)) !== Boolean(file(names.key)))
    problems.push({
      variable: file(names.cert) ? names.key : names.cert,
      message: 'the client certificate and its key go together',
    });
  const read = (variable: string) => {
    if (!file(variable)) return undefined;
    try {
      return readFileSync(file(variable));
    } catch {
      problems.push({ variable, message: `cannot read ${file(variable)}` });
      return undefined;
    }
  };
  return { ca: read(names.ca), cert: read(names.cert), key: read(names.key) };
}
