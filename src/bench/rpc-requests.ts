/**
 * API requests Strata's daemons served, by route, read from their /metrics
 * (strata_rpc_requests_total): what an operation cost the master and workers in calls.
 */

/**
 * Requests served so far by the roles on these web ports, summed by route (over HTTP and in
 * process, or over `transport` only); undefined if one cannot be read.
 */
export async function requestsServed(webPorts: number[], transport?: 'http' | 'in-process'): Promise<Map<string, number> | undefined> {
  const byRoute = new Map<string, number>();
  try {
    for (const port of webPorts) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const line of text.split('\n')) {
        if (!line.startsWith('strata_rpc_requests_total{')) continue;
        if (transport && !line.includes(`transport="${transport}"`)) continue;
        const route = /route="([^"]*)"/.exec(line)?.[1];
        if (route !== undefined) byRoute.set(route, (byRoute.get(route) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
      }
    }
  } catch {
    return undefined;
  }
  return byRoute;
}

/** The requests served between two readings, by route (routes with none left out). */
export function requestsBetween(before: Map<string, number> | undefined, after: Map<string, number> | undefined): Record<string, number> | undefined {
  if (!before || !after) return undefined;
  const out: Record<string, number> = {};
  for (const [route, n] of after) {
    const d = n - (before.get(route) ?? 0);
    if (d > 0) out[route] = d;
  }
  return out;
}
