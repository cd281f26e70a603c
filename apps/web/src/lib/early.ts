/**
 * Queries sent with plain fetch in tRPC's HTTP form (`GET /trpc/<path>?input=<JSON>`, answered by
 * `{"result":{"data":…}}` or `{"error":…}`), so the page's first requests leave before the tRPC
 * client, React Query and React have loaded. The dashboard hands the answers to its query cache.
 */
export interface EarlyQuery {
  /** The procedure, dotted (`bms.batch`). */
  path: string;
  input: unknown;
  /** The procedure's output, as the tRPC client would give it (no transformer is configured). */
  answer: Promise<unknown>;
}

export function earlyQuery(path: string, input: unknown): EarlyQuery {
  const url = `/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`;
  const answer = fetch(url, { credentials: 'same-origin' }).then(async (res) => {
    const body = (await res.json().catch(() => ({}))) as { result?: { data: unknown }; error?: { message?: string } };
    if (!res.ok || !body.result) throw new Error(body.error?.message ?? `the server answered ${res.status}`);
    return body.result.data;
  });
  // A refusal (signed out, server gone) is the view's to report when it asks again.
  answer.catch(() => undefined);
  return { path, input, answer };
}
