// Event helpers shared by the events list and the event page: time zones,
// the create/edit form, and the line that describes an event.

import { $, LANG, el, t } from './common.js';

const pad = (n) => String(n).padStart(2, '0');

export function validZone(tz) {
  try { new Intl.DateTimeFormat('en', { timeZone: tz }); return !!tz; } catch (e) { return false; }
}

export function localZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch (e) { return 'UTC'; }
}

function zoneParts(date, tz) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(date);
  const m = {};
  for (const p of parts) m[p.type] = p.value;
  return { y: +m.year, mo: +m.month, d: +m.day, h: (+m.hour) % 24, mi: +m.minute, s: +m.second };
}

// offset of tz at the instant date, in minutes east of UTC.
function zoneOffset(date, tz) {
  const p = zoneParts(date, tz);
  return Math.round((Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s) - date.getTime()) / 60000);
}

// zonedToISO turns a datetime-local value read as wall time in tz into
// RFC 3339 with that zone's offset.
export function zonedToISO(local, tz) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local || '');
  if (!m) return '';
  const [y, mo, d, h, mi] = m.slice(1).map(Number);
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  let off = zoneOffset(new Date(guess), tz);
  off = zoneOffset(new Date(guess - off * 60000), tz);
  const a = Math.abs(off);
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:00${off < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

// isoToZoned gives the datetime-local value of an instant in tz.
export function isoToZoned(iso, tz) {
  const date = new Date(iso);
  if (isNaN(date.getTime())) return '';
  const p = zoneParts(date, validZone(tz) ? tz : 'UTC');
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}`;
}

// dayOf names the event's day in its own time zone.
export function dayOf(ev) {
  const tz = validZone(ev.timezone) ? ev.timezone : 'UTC';
  const date = new Date(ev.start);
  const p = zoneParts(date, tz);
  return {
    key: `${p.y}-${pad(p.mo)}-${pad(p.d)}`,
    label: new Intl.DateTimeFormat(LANG, { timeZone: tz, dateStyle: 'full' }).format(date),
  };
}

// whenText says when an event happens, in its time zone.
export function whenText(ev, withDate) {
  const tz = validZone(ev.timezone) ? ev.timezone : 'UTC';
  const opts = withDate ? { dateStyle: 'medium', timeStyle: 'short', timeZone: tz } : { timeStyle: 'short', timeZone: tz };
  const f = new Intl.DateTimeFormat(LANG, opts);
  const start = new Date(ev.start);
  const end = new Date(ev.end);
  if (isNaN(start.getTime())) return '';
  let s;
  try { s = isNaN(end.getTime()) ? f.format(start) : f.formatRange(start, end); } catch (e) { s = f.format(start); }
  return t('event.when', { when: s, zone: tz });
}

export function placeText(ev) {
  const p = ev.place || {};
  return [p.venue, p.address].filter(Boolean).join(', ');
}

export function statusText(status) {
  return t('status.' + (status || 'confirmed'));
}

// countsText says who is coming. A cancelled event has no places to take
// or wait for; "0 maybe" is noise.
export function countsText(ev) {
  if (ev.status === 'cancelled') return statusText('cancelled');
  const parts = [t('event.going', { n: ev.going || 0 })];
  if (ev.capacity) parts[0] = t('event.going_of', { n: ev.going || 0, cap: ev.capacity });
  if (ev.maybe) parts.push(t('event.maybe', { n: ev.maybe }));
  if (ev.waitlist) parts.push(t('event.waitlist', { n: ev.waitlist }));
  return parts.join(' · ');
}

// readForm collects the event form into the API's event fields.
export function readForm() {
  const tz = $('e-timezone').value.trim();
  if (!validZone(tz)) throw new Error(t('event.bad_zone'));
  const start = zonedToISO($('e-start').value, tz);
  const end = zonedToISO($('e-end').value, tz);
  if (!start || !end) throw new Error(t('event.bad_time'));
  if (new Date(end) < new Date(start)) throw new Error(t('event.end_before_start'));
  const venue = $('e-venue').value.trim();
  const address = $('e-address').value.trim();
  const f = {
    title: $('e-title').value.trim(),
    description: $('e-description').value.trim(),
    start, end, timezone: tz,
    online_url: $('e-online').value.trim(),
    language: $('e-language').value.trim(),
    tags: $('e-tags').value.split(',').map((s) => s.trim()).filter(Boolean),
    capacity: parseInt($('e-capacity').value, 10) || 0,
    status: $('e-status').value,
  };
  if (venue || address) f.place = { venue, address };
  return f;
}

// fillForm puts an event (or defaults) into the form.
export function fillForm(ev) {
  const tz = ev && validZone(ev.timezone) ? ev.timezone : localZone();
  $('e-title').value = ev ? ev.title || '' : '';
  $('e-description').value = ev ? ev.description || '' : '';
  $('e-timezone').value = tz;
  $('e-start').value = ev ? isoToZoned(ev.start, tz) : '';
  $('e-end').value = ev ? isoToZoned(ev.end, tz) : '';
  const p = (ev && ev.place) || {};
  $('e-venue').value = p.venue || '';
  $('e-address').value = p.address || '';
  $('e-online').value = ev ? ev.online_url || '' : '';
  $('e-language').value = ev ? ev.language || '' : LANG;
  $('e-tags').value = ev ? (ev.tags || []).join(', ') : '';
  $('e-capacity').value = ev && ev.capacity ? String(ev.capacity) : '';
  $('e-status').value = ev ? ev.status || 'confirmed' : 'confirmed';
}

// eventCard is one event in a list.
export function eventCard(ev, withDate) {
  const href = '/events/' + encodeURIComponent(ev.id);
  return el('li', { class: 'event-card' + (ev.status === 'cancelled' ? ' cancelled' : '') },
    el('p', { class: 'when' }, whenText(ev, withDate)),
    el('h3', {}, el('a', { href }, ev.title || t('event.untitled'))),
    placeText(ev) ? el('p', {}, placeText(ev)) : null,
    ev.status && ev.status !== 'confirmed' ? el('p', { class: 'badge' }, statusText(ev.status)) : null,
    el('p', { class: 'counts' }, countsText(ev)));
}
