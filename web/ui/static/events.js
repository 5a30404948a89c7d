// The events list, by day in each event's own time zone, and the form that
// creates an event.

import { $, PAGE, api, clear, el, errorText, follow, live, t, withChosenIdentity } from './common.js';
import { dayOf, eventCard, fillForm, readForm } from './events-common.js';

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

if (!PAGE.read_only) {
  fillForm(null);
  $('event-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('event-error').textContent = '';
    try {
      const ev = await api('POST', '/events', await withChosenIdentity(readForm()));
      live(t('event.created'));
      window.location.assign('/events/' + encodeURIComponent(ev.id));
    } catch (err) {
      $('event-error').textContent = errorText(err);
    }
  });
}

follow((c) => c.all || !!c.event, refresh);
refresh();
