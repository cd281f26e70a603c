/** The browser's sign-in state (see the server's /auth/session): whether keys are needed, and the session's CSRF token. */
export interface SessionState {
  keysRequired: boolean;
  signedIn: boolean;
  csrfToken?: string;
}

const PATH = '/auth/session';

export async function fetchSession(): Promise<SessionState> {
  const res = await fetch(PATH, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`the server answered ${res.status}`);
  return (await res.json()) as SessionState;
}

/** Exchanges a key for a session cookie; the error says why when it is refused. */
export async function signIn(key: string): Promise<void> {
  const res = await fetch(PATH, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ key }),
  });
  if (res.ok) return;
  throw new Error(
    res.status === 401
      ? 'That key is not valid.'
      : res.status === 429
        ? 'Too many wrong keys from this address; wait a minute.'
        : `The server answered ${res.status}.`,
  );
}

export async function signOut(csrfToken: string | undefined): Promise<void> {
  await fetch(PATH, {
    method: 'DELETE',
    credentials: 'same-origin',
    headers: csrfToken ? { 'X-CSRF-Token': csrfToken } : {},
  });
}
