import type { ReactNode } from 'react';

/** Says what is wrong in words an operator can act on. */
export function ErrorState({
  error,
  what,
}: {
  error: { message: string; data?: { code?: string } | null } | null;
  what: string;
}) {
  const code = error?.data?.code;
  const text =
    code === 'NOT_FOUND'
      ? `${what}: not found. ${error?.message ?? ''}`
      : error?.message?.includes('fetch') || error?.message?.includes('Failed')
        ? `${what}: the server cannot be reached. Is it running?`
        : `${what}: ${error?.message ?? 'unknown error'}`;
  return (
    <div className="state error" role="alert">
      {text}
    </div>
  );
}

export function Loading({ children = 'Loading…' }: { children?: ReactNode }) {
  return <div className="state loading">{children}</div>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state empty">{children}</div>;
}
