// The browser's time-zone database for the core (which decides "today" and "overdue" in a territory's zone),
// and dates shown in a zone.
const parts = new Map();

/** A zone's offset from UTC in seconds east at `ms`; throws for a zone the browser does not know. */
export function offsetSeconds(zone, ms) {
  let f = parts.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    parts.set(zone, f);
  }
  const p = {};
  for (const x of f.formatToParts(ms)) p[x.type] = Number(x.value);
  return Math.round((Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000) / 1000);
}

/** The day (YYYY-MM-DD) it is in `zone` at `ms`. */
export const dayIn = (zone, ms) => new Date(ms + offsetSeconds(zone, ms) * 1000).toISOString().slice(0, 10);
