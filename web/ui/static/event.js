// One event: details, registration (going / maybe / not going, with the
// waitlist), editing, and its .ics file.

import { $, LANG, PAGE, api, clear, el, errorText, fillSelect, follow, live, store, t, tn } from './common.js';
import { countsText, fillForm, fillZones, formErrorText, placeText, readForm, statusText, whenText } from './events-common.js';

const eid = PAGE.eid;
const enc = encodeURIComponent;
let current = null;
let identities = [];
let identity = store.get('identity');

// languageName says "Spanish (español)" on an English page for "es": the
// name in the page's language, and the language's own name for those who
// read only that one; a tag the browser does not know stays as written.
function languageName(tag) {
  let here = tag;
  let own = '';
  try { here = new Intl.DisplayNames([LANG], { type: 'language' }).of(tag) || tag; } catch (e) { return tag; }
  try { own = new Intl.DisplayNames([tag], { type: 'language' }).of(tag) || ''; } catch (e) { own = ''; }
  return own && own.toLocaleLowerCase(tag) !== here.toLocaleLowerCase(tag) ? `${here} (${own})` : here;
}

// groups names the organizing group (GET /groups is public: a phone sees
// it too).
let groups = new Map();

async function loadGroups() {
  try {
    groups = new Map(((await api('GET', '/groups')) || []).map((g) => [g.id, g]));
  } catch (e) {
    groups = new Map();
  }
}

function groupText(id) {
  const g = groups.get(id);
  return g && g.name && !g.hidden ? g.name : t('group.hidden');
}

const nums = new Intl.NumberFormat(LANG, { maximumFractionDigits: 6 });

// whoLines lists who registered, by answer, in name order; people whose
// name is hidden (or never given) are counted, not named.
function whoLines(ev) {
  if (ev.status === 'cancelled') return [];
  const list = new Intl.ListFormat(LANG, { style: 'long', type: 'conjunction' });
  const line = (key, ps) => {
    if (!ps.length) return null;
    const names = ps.map((p) => p.name).filter(Boolean).sort((a, b) => a.localeCompare(b, LANG));
    const unnamed = ps.length - names.length;
    if (unnamed) names.push(tn('event.unnamed', unnamed));
    return t(key, { names: list.format(names) });
  };
  const ps = ev.participants || [];
  return [
    line('event.who_going', ps.filter((p) => p.status === 'going' && !p.waitlisted)),
    line('event.who_maybe', ps.filter((p) => p.status === 'maybe')),
    line('event.who_waitlist', ps.filter((p) => p.status === 'going' && p.waitlisted)),
  ].filter(Boolean);
}

function paint(ev) {
  current = ev;
  $('event-title').textContent = ev.title || t('event.untitled');
  document.title = (ev.title || '') + ' · ' + t('app.name');
  $('event-status').textContent = statusText(ev.status);
  $('event-when').textContent = whenText(ev, true);
  $('event-group').hidden = !ev.group;
  $('event-group').textContent = ev.group ? t('event.organized_by', { group: groupText(ev.group) }) : '';
  $('event-place').textContent = placeText(ev);
  const p = ev.place || {};
  const coords = typeof p.lat === 'number' && typeof p.lon === 'number' && !ev.hidden;
  $('event-coords').hidden = !coords;
  if (coords) {
    // A geo: link opens the phone's own map application.
    $('event-coords-link').setAttribute('href', `geo:${p.lat},${p.lon}`);
    $('event-coords-link').textContent = t('event.coords_are', { lat: nums.format(p.lat), lon: nums.format(p.lon) });
  }
  const url = ev.online_url || '';
  // Only web links become links; anything else stays text.
  const web = /^https?:\/\//i.test(url);
  $('event-online').hidden = !web;
  if (web) $('event-online-link').setAttribute('href', url);
  $('event-description').textContent = ev.description || '';
  const meta = [];
  if (ev.language) meta.push(t('event.language_is', { lang: languageName(ev.language) }));
  if ((ev.tags || []).length) meta.push(t('event.tags_are', { tags: ev.tags.join(', ') }));
  $('event-meta').textContent = meta.join(' · ');
  $('event-counts').textContent = countsText(ev);
  const who = whoLines(ev);
  clear($('event-who'));
  for (const l of who) $('event-who').append(el('li', {}, l));
  $('event-who').hidden = who.length === 0;
  $('event-ics').setAttribute('href', `/api/v1/events/${enc(ev.id)}.ics`);
  if (!PAGE.read_only) paintMine();
}

function paintMine() {
  if (!current) return;
  const me = (current.participants || []).find((p) => p.identity === identity);
  let s = t('rsvp.none');
  if (me) {
    s = me.waitlisted ? t('rsvp.mine_waitlisted', { status: t('rsvp.' + me.status) })
      : t('rsvp.mine', { status: t('rsvp.' + me.status) });
  }
  $('my-status').textContent = s;
  for (const b of document.querySelectorAll('[data-status]')) {
    b.setAttribute('aria-pressed', me && me.status === b.dataset.status ? 'true' : 'false');
    b.disabled = !identity;
  }
}

async function refresh() {
  try {
    const [ev] = await Promise.all([api('GET', `/events/${enc(eid)}`), loadGroups()]);
    paint(ev);
  } catch (e) {
    $('event-title').textContent = errorText(e);
  }
}

if (!PAGE.read_only) {
  // The organizing group is fixed when the event is made.
  $('e-group-row').hidden = true;
  fillZones();
  api('GET', '/identities').then((ids) => {
    identities = ids || [];
    if (!identities.some((i) => i.id === identity)) {
      const def = identities.find((i) => i.default) || identities[0];
      identity = def ? def.id : '';
    }
    fillSelect($('identity'), identities.map((i) => ({ value: i.id, label: i.name })), identity);
    paintMine();
  }).catch((e) => { $('register-error').textContent = errorText(e); });

  $('identity').addEventListener('change', () => {
    identity = $('identity').value;
    store.set('identity', identity);
    paintMine();
  });

  for (const b of document.querySelectorAll('[data-status]')) {
    b.addEventListener('click', async () => {
      $('register-error').textContent = '';
      try {
        const r = await api('PUT', `/events/${enc(eid)}/participants/${enc(identity)}`, { status: b.dataset.status });
        live(r && r.waitlisted ? t('rsvp.mine_waitlisted', { status: t('rsvp.' + r.status) })
          : t('rsvp.mine', { status: t('rsvp.' + (r ? r.status : b.dataset.status)) }));
        await refresh();
      } catch (e) {
        $('register-error').textContent = errorText(e);
      }
    });
  }

  $('edit').addEventListener('toggle', () => { if ($('edit').open && current) fillForm(current); });
  $('event-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('event-error').textContent = '';
    try {
      const f = readForm();
      const patch = {};
      for (const [k, v] of Object.entries(f)) {
        if (k === 'start' || k === 'end') {
          if (new Date(v).getTime() !== new Date(current[k]).getTime()) patch[k] = v;
        } else if (JSON.stringify(v) !== JSON.stringify(current[k] === undefined ? emptyOf(v) : current[k])) {
          patch[k] = v;
        }
      }
      if (Object.keys(patch).length) await api('PATCH', `/events/${enc(eid)}`, identity ? { ...patch, as: identity } : patch);
      $('edit').open = false;
      live(t('event.saved'));
      await refresh();
    } catch (err) {
      $('event-error').textContent = formErrorText(err);
    }
  });
}

function emptyOf(v) {
  if (Array.isArray(v)) return [];
  if (typeof v === 'number') return 0;
  if (typeof v === 'object') return {};
  return '';
}

follow((c) => c.all || c.event === eid, refresh);
refresh();
