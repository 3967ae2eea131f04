// Dates and times as Vietnamese offices write them, in both languages: dd/mm/yyyy and HH:MM
// (24-hour), in the desk's local time zone.

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** formatDate gives dd/mm/yyyy. */
export function formatDate(d: Date): string {
  return `${two(d.getDate())}/${two(d.getMonth() + 1)}/${d.getFullYear()}`;
}

/** formatTime gives HH:MM, 24-hour. */
export function formatTime(d: Date): string {
  return `${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** parseDate reads dd/mm/yyyy (also d/m/yyyy) and refuses impossible dates such as 31/02/2024. */
export function parseDate(s: string): Date | null {
  const m = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})\s*$/.exec(s);
  if (!m) return null;
  const day = Number(m[1]);
  const month = Number(m[2]);
  const year = Number(m[3]);
  const d = new Date(year, month - 1, day);
  if (d.getFullYear() !== year || d.getMonth() !== month - 1 || d.getDate() !== day) return null;
  return d;
}
