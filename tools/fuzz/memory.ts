/** A service's memory as its /metrics report it (prom-client's process and nodejs gauges). */
export interface Memory {
  /** Resident set size of the process. */
  rss: number;
  /** What JavaScript holds: V8 heap in use plus external memory (Buffers, ArrayBuffers). */
  held: number;
}

export const mib = (bytes: number | undefined) => (bytes === undefined ? undefined : Math.round(bytes / 2 ** 20));

/** The memory of the service whose HTTP port answers at `httpUrl`; undefined when it does not answer. */
export async function memoryOf(httpUrl: string): Promise<Memory | undefined> {
  const text = await fetch(`${httpUrl}/metrics`).then(
    (r) => (r.ok ? r.text() : ''),
    () => '',
  );
  const gauge = (name: string) => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+(?:\\.\\d+)?(?:e\\+\\d+)?)$`, 'm').exec(text);
    return match ? Number(match[1]) : undefined;
  };
  const rss = gauge('process_resident_memory_bytes');
  const heap = gauge('nodejs_heap_size_used_bytes');
  const external = gauge('nodejs_external_memory_bytes');
  return rss === undefined || heap === undefined || external === undefined ? undefined : { rss, held: heap + external };
}

/**
 * The memory once what the service holds is back within 1.5× + 64 MiB of `before` (read every 5 s), or after 90 s:
 * a collected heap shrinks within seconds to a minute of the load stopping, a leak does not. Resident memory is not
 * the measure: freed memory that glibc's allocator keeps for reuse stays resident without being held by anything.
 */
export async function settledMemory(httpUrl: string, before: Memory | undefined): Promise<(Memory & { settled: boolean }) | undefined> {
  const stopped = Date.now();
  const limit = before === undefined ? Infinity : before.held * 1.5 + 64 * 2 ** 20;
  let after: Memory | undefined;
  do {
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    after = await memoryOf(httpUrl);
  } while (after !== undefined && after.held > limit && Date.now() - stopped < 90_000);
  return after && { ...after, settled: after.held <= limit };
}
