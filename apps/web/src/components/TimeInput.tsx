import { useEffect, useState } from 'react';
import { fromInputValue, toInputValue, useDisplayZone, zoneLabel } from '../lib/format';

/**
 * A date and time typed as `YYYY-MM-DD HH:MM`, 24-hour, in the display zone (named in its label).
 * Not the browser's datetime picker, which follows the locale's clock (AM/PM under en-US). A
 * time is taken on Enter or on leaving the field; one that names no instant, or falls outside
 * [min, max], is marked invalid and not taken; an emptied field shows the time in force again.
 */
export function TimeInput({
  label,
  value,
  onChange,
  min,
  max,
  testId,
}: {
  label: string;
  /** Epoch ms, or undefined for an empty field. */
  value: number | undefined;
  onChange: (t: number) => void;
  min?: number;
  max?: number;
  testId?: string;
}) {
  const zone = useDisplayZone();
  const shown = value === undefined ? '' : toInputValue(value);
  const [draft, setDraft] = useState(shown);
  // A new value from outside (a preset, a zoom, the zone changing) replaces what was typed.
  useEffect(() => setDraft(shown), [shown, zone]);
  const parsed = fromInputValue(draft);
  const valid =
    draft === '' ||
    (parsed !== undefined && (min === undefined || parsed >= min) && (max === undefined || parsed <= max));
  // Only what was typed is taken: the field shows minutes, and a range to the second left alone stays as it is.
  const commit = () => {
    if (draft === shown) return;
    if (valid && parsed !== undefined) onChange(parsed);
    else if (draft.trim() === '') setDraft(shown);
  };
  return (
    <label>
      {label} <span className="muted">({zoneLabel(value ?? Date.now())}, 24 h)</span>{' '}
      <input
        type="text"
        size={16}
        placeholder="YYYY-MM-DD HH:MM"
        value={draft}
        aria-invalid={!valid}
        title={valid ? undefined : 'A date and time as YYYY-MM-DD HH:MM, inside the data'}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
        data-testid={testId}
      />
    </label>
  );
}
