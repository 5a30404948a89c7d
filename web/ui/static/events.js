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
  events = (events || []).slice().sort((a, b) => new Date(a.start) - new Date(b.start));
  const days = $('days');
  clear(days);
  let cur = null;
  let list = null;
  for (const ev of events) {
    const d = dayOf(ev);
    if (!cur || cur.key !== d.key) {
      cur = d;
      list = el('ul', { class: 'cards' });
      days.append(el('section', { class: 'day' }, el('h2', {}, d.label), list));
    }
    list.append(eventCard(ev, false));
  }
  $('no-events').hidden = events.length > 0;
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
