/** How numbers, sizes, rates and times read in the UI: short, unit always shown. */

/** One formatter for every count: `toLocaleString('en-US')` builds a new one per call (~0.1 ms, many per redraw). */
const countFormat = new Intl.NumberFormat('en-US');

/** 1234567 → "1,234,567". */
export function count(n: number): string {
  return countFormat.format(Math.round(n));
}

/** Bytes in binary units: "12.3 MiB". */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Messages per second: whole numbers above 10, one decimal below. */
export function rate(perSec: number): string {
  if (perSec >= 10_000) return `${(perSec / 1000).toFixed(1)}k`;
  return perSec >= 10 ? count(perSec) : perSec.toFixed(1);
}

/** A duration in its largest sensible unit: "3 d 4 h", "12 min", "45 s". */
export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** Local wall-clock time with seconds: what an engineer compares with a PLC's clock. */
export function time(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const today = new Date();
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  if (d.toDateString() === today.toDateString()) return clock;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock}`;
}

/** "12 s ago". */
export function ago(ms: number, now = Date.now()): string {
  return `${duration(Math.max(0, now - ms))} ago`;
}

/** A `datetime-local` input's value → epoch ms (undefined when empty or invalid). */
export function fromLocalInput(value: string): number | undefined {
  if (value.trim() === '') return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

/** Epoch ms → a `datetime-local` input's value, to the second. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
