// Event helpers shared by the events list and the event page: time zones,
// the create/edit form, and the line that describes an event.

import { $, LANG, el, errorText, t } from './common.js';

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

// fillZones offers the IANA zone names the browser knows in the form's
// list, with UTC and this laptop's zone among them.
export function fillZones() {
  let zones = [];
  try { zones = Intl.supportedValuesOf('timeZone').slice(); } catch (e) { zones = []; }
  for (const z of ['UTC', localZone()]) if (!zones.includes(z)) zones.push(z);
  zones.sort();
  $('e-zones').replaceChildren(...zones.map((z) => el('option', { value: z })));
}

// FormError is a mistake in the form, said as it is (not as "something
// went wrong").
export class FormError extends Error {}

// formErrorText says what went wrong with the form or its request.
export function formErrorText(err) {
  return err instanceof FormError ? err.message : errorText(err);
}

// readCoords reads latitude and longitude: both or neither.
function readCoords() {
  const lat = $('e-lat').value.trim();
  const lon = $('e-lon').value.trim();
  if (lat === '' && lon === '') return null;
  if (lat === '' || lon === '') throw new FormError(t('event.coords_both'));
  const la = Number(lat);
  const lo = Number(lon);
  if (!Number.isFinite(la) || !Number.isFinite(lo) || la < -90 || la > 90 || lo < -180 || lo > 180) {
    throw new FormError(t('event.bad_coords'));
  }
  return { lat: la, lon: lo };
}

// readForm collects the event form into the API's event fields.
export function readForm() {
  const tz = $('e-timezone').value.trim();
  if (!validZone(tz)) throw new FormError(t('event.bad_zone'));
  const start = zonedToISO($('e-start').value, tz);
  const end = zonedToISO($('e-end').value, tz);
  if (!start || !end) throw new FormError(t('event.bad_time'));
  if (new Date(end) < new Date(start)) throw new FormError(t('event.end_before_start'));
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
  // The place in the API's own shape (empty fields left out), so that an
  // edit compares equal to what it did not change.
  const place = {};
  if (venue) place.venue = venue;
  if (address) place.address = address;
  const coords = readCoords();
  if (coords) Object.assign(place, coords);
  if (Object.keys(place).length) f.place = place;
  const group = $('e-group');
  if (group && !$('e-group-row').hidden && group.value) f.group = group.value;
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
  $('e-lat').value = p.lat === undefined || p.lat === null ? '' : String(p.lat);
  $('e-lon').value = p.lon === undefined || p.lon === null ? '' : String(p.lon);
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
