import { useEffect, useState } from 'react';

/**
 * How many of `total` charts to draw: once there is data, one more each frame. Drawing a view's
 * charts in one go holds the page for over half a second on a slow machine; this way the first
 * shows at once and the page answers input between the others.
 */
export function useStaged(ready: boolean, total: number): number {
  const [count, setCount] = useState(1);
  useEffect(() => {
    if (!ready || count >= total) return;
    const frame = requestAnimationFrame(() => setCount((c) => c + 1));
    return () => cancelAnimationFrame(frame);
  }, [ready, count, total]);
  return count;
}
