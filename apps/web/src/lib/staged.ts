import { useEffect, useState } from 'react';

/** Longest wait for an idle moment before the next chart is drawn anyway (a page that is never idle). */
const IDLE_TIMEOUT_MS = 400;

/**
 * How many of `total` charts to draw: once there is data, one more each time the page falls idle.
 * A chart takes several passes to draw (its size measured, its axes, its lines); starting the next
 * one before the last has finished holds the first chart back by a quarter of a second or more on
 * a slow machine, and drawing all in one go holds the page for over half a second.
 */
export function useStaged(ready: boolean, total: number): number {
  const [count, setCount] = useState(1);
  useEffect(() => {
    if (!ready || count >= total) return;
    const next = () => setCount((c) => c + 1);
    if (typeof requestIdleCallback !== 'function') {
      const frame = requestAnimationFrame(next);
      return () => cancelAnimationFrame(frame);
    }
    const idle = requestIdleCallback(next, { timeout: IDLE_TIMEOUT_MS });
    return () => cancelIdleCallback(idle);
  }, [ready, count, total]);
  return count;
}
