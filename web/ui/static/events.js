// The events list, by day in each event's own time zone, and the form that
// creates an event.

import { $, PAGE, api, clear, el, errorText, fillSelect, follow, live, store, t, withChosenIdentity } from './common.js';
import { dayOf, eventCard, fillForm, fillZones, formErrorText, readForm } from './events-common.js';

async function refresh() {
  let events;
  try {
    events = await api('GET', '/events');
  } catch (e) {
    $('freshness').textContent = errorText(e);
    return;
  }
  // Upcoming first, soonest first; past events apart, latest first.
  const now = Date.now();
  const ends = (ev) => new Date(ev.end || ev.start).getTime();
  events = events || [];
  const upcoming = events.filter((ev) => ends(ev) >= now).sort((a, b) => new Date(a.start) - new Date(b.start));
  const past = events.filter((ev) => ends(ev) < now).sort((a, b) => new Date(b.start) - new Date(a.start));
  byDay($('days'), upcoming, 'h2');
  byDay($('past-days'), past, 'h3');
  $('past').hidden = past.length === 0;
  $('no-events').hidden = events.length > 0;
}

// byDay lists events under a heading per day, in each event's own zone.
function byDay(into, events, heading) {
  clear(into);
  let cur = null;
  let list = null;
  for (const ev of events) {
    const d = dayOf(ev);
    if (!cur || cur.key !== d.key) {
      cur = d;
      list = el('ul', { class: 'cards' });
      into.append(el('section', { class: 'day' }, el(heading, {}, d.label), list));
    }
    list.append(eventCard(ev, false));
  }
}

// The organizing group: a group one of this laptop's identities is a
// scribe of (only a scribe may name its group as organizer). The event is
// then made as that scribe, the identity chosen on the pages first.
let organizers = [];

async function loadOrganizers() {
  try {
    const [ids, groups] = await Promise.all([api('GET', '/identities'), api('GET', '/groups')]);
    const mine = new Set((ids || []).map((i) => i.id));
    organizers = (groups || []).filter((g) => !g.hidden && (g.scribes || []).some((s) => mine.has(s)))
      .sort((a, b) => a.name.localeCompare(b.name));
  } catch (e) {
    organizers = [];
  }
  fillSelect($('e-group'), organizers.map((g) => ({ value: g.id, label: g.name })), $('e-group').value, t('event.no_group'));
}

async function withActor(f) {
  if (!f.group) return withChosenIdentity(f);
  const g = organizers.find((x) => x.id === f.group);
  const chosen = store.get('identity');
  const ids = ((await api('GET', '/identities')) || []).map((i) => i.id);
  const scribes = ((g && g.scribes) || []).filter((s) => ids.includes(s));
  const as = scribes.includes(chosen) ? chosen : scribes[0];
  return as ? { ...f, as } : f;
}

if (!PAGE.read_only) {
  fillZones();
  fillForm(null);
  loadOrganizers();
  $('create').addEventListener('toggle', () => { if ($('create').open) loadOrganizers(); });
  $('event-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('event-error').textContent = '';
    try {
      const ev = await api('POST', '/events', await withActor(readForm()));
      live(t('event.created'));
      window.location.assign('/events/' + encodeURIComponent(ev.id));
    } catch (err) {
      $('event-error').textContent = formErrorText(err);
    }
  });
}

follow((c) => c.all || !!c.event, refresh);
refresh();
