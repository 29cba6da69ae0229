/** An answer of OpenSearch that was not 2xx: its status and body. */
export class OpenSearchError extends Error {
  override readonly name = 'OpenSearchError';
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: OpenSearch answered ${status}: ${body.slice(0, 300)}`);
  }
}

export interface BulkItemResult {
  status: number;
  /** OpenSearch's error type and reason, when the item failed. */
  error?: { type: string; reason: string };
}

/**
 * The few OpenSearch REST calls the logs service makes, over fetch, each with a timeout. No client package: the
 * bulk, search, template and index APIs are plain JSON (an Elasticsearch-compatible subset).
 */
export class OpenSearchClient {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs = 10_000,
  ) {}

  /** `_bulk` of ndjson lines (action, source, ...); the result of each action in order. */
  async bulk(lines: readonly string[]): Promise<BulkItemResult[]> {
    const body = lines.join('\n') + '\n';
    const reply = await this.request('POST', '/_bulk', body, 'application/x-ndjson', 'bulk');
    const items = (reply as { items: Record<string, { status: number; error?: { type: string; reason: string } }>[] }).items;
    return items.map((item) => {
      const result = Object.values(item)[0];
      return { status: result.status, error: result.error && { type: result.error.type, reason: result.error.reason } };
    });
  }

  search<T = unknown>(indexPattern: string, query: unknown): Promise<T> {
    return this.request(
      'POST',
      `/${encodeURIComponent(indexPattern)}/_search?ignore_unavailable=true&allow_no_indices=true`,
      JSON.stringify(query),
      'application/json',
      'search',
    ) as Promise<T>;
  }

  async putIndexTemplate(name: string, template: unknown): Promise<void> {
    await this.request(
      'PUT',
      `/_index_template/${encodeURIComponent(name)}`,
      JSON.stringify(template),
      'application/json',
      'index template',
    );
  }

  /** Index names matching a pattern (`pulse-logs-*`). */
  async indices(pattern: string): Promise<string[]> {
    const rows = (await this.request(
      'GET',
      `/_cat/indices/${encodeURIComponent(pattern)}?format=json&h=index`,
      undefined,
      undefined,
      'cat indices',
    )) as {
      index: string;
    }[];
    return rows.map((r) => r.index).sort();
  }

  async deleteIndex(name: string): Promise<void> {
    await this.request('DELETE', `/${encodeURIComponent(name)}`, undefined, undefined, 'delete index');
  }

  async refresh(indexPattern: string): Promise<void> {
    await this.request(
      'POST',
      `/${encodeURIComponent(indexPattern)}/_refresh?ignore_unavailable=true&allow_no_indices=true`,
      undefined,
      undefined,
      'refresh',
    );
  }

  /** Whether the Index State Management plugin answers (a distribution has it; the local stack's node does not). */
  async hasIsm(): Promise<boolean> {
    try {
      await this.request('GET', '/_plugins/_ism/policies', undefined, undefined, 'ism');
      return true;
    } catch (error) {
      if (error instanceof OpenSearchError && (error.status === 400 || error.status === 404 || error.status === 405)) return false;
      throw error;
    }
  }

  /** Creates the ISM policy unless one of that id exists. */
  async ensureIsmPolicy(id: string, policy: unknown): Promise<void> {
    try {
      await this.request(
        'PUT',
        `/_plugins/_ism/policies/${encodeURIComponent(id)}`,
        JSON.stringify(policy),
        'application/json',
        'ism policy',
      );
    } catch (error) {
      if (!(error instanceof OpenSearchError && error.status === 409)) throw error;
    }
  }

  async clusterHealth(): Promise<{ status: string }> {
    return (await this.request('GET', '/_cluster/health', undefined, undefined, 'cluster health')) as { status: string };
  }

  private async request(
    method: string,
    path: string,
    body: string | undefined,
    contentType: string | undefined,
    what: string,
  ): Promise<unknown> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      body,
      headers: contentType ? { 'content-type': contentType } : undefined,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) throw new OpenSearchError(response.status, text, what);
    return text ? JSON.parse(text) : undefined;
  }
}
