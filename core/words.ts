/**
 * Words for people, shared by the notifications (core) and the local
 * runtime and postmortem (cli): one way to cut text, to say a duration and
 * to say a size, so a number reads the same in Slack and in a postmortem.
 */

/**
 * Cuts text to `max` whole characters (code points, so no half surrogate
 * pair), with an ellipsis when cut, on one line: runs of whitespace,
 * newlines and tabs included, become one space.
 *
 * @example
 * ```ts
 * cut('a very long message', 6); // 'a ver…'
 * cut('line one\n\tline two', 40); // 'line one line two'
 * ```
 */
export function cut(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : flat;
}

/**
 * A duration for people: 95 → "1m 35s".
 *
 * @example
 * ```ts
 * duration(3725); // '1h 2m 5s'
 * ```
 */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return [h ? `${h}h` : '', h || m ? `${m}m` : '', `${rest}s`]
    .filter(Boolean)
    .join(' ');
}

/**
 * Formats bytes for people: 1536 → "1.5 KiB".
 *
 * @example
 * ```ts
 * formatBytes(16 * 1024 ** 3); // '16.0 GiB'
 * ```
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const sign = bytes < 0 ? '-' : '';
  return unit === 0
    ? `${sign}${value} B`
    : `${sign}${value.toFixed(1)} ${units[unit]}`;
}
