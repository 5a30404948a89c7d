// The gathering: sessions, upcoming events, who is connected and how fresh
// this node's view is.

import { $, api, clear, el, errorText, follow, freshnessLine, gatheringName, relTime, shortId, t, withChosenIdentity } from './common.js';
import { eventCard } from './events-common.js';

const showFreshness = freshnessLine($('freshness'));

async function loadStatus() {
  const st = await api('GET', '/status');
  const name = gatheringName(st);
  if (name) {
    $('gathering-name').textContent = name;
    document.title = name + ' · ' + t('app.name');
  }
  showFreshness(st.freshness || { peers: (st.peers || []).length });
  const list = $('peers');
  clear(list);
  for (const p of st.peers || []) {
    list.append(el('li', {},
      el('code', { title: p.peer_id }, shortId(p.peer_id)), ' ',
      el('span', { class: 'via' }, t('via.' + (p.via || 'unknown'))), ' ',
      p.since ? el('span', { class: 'muted' }, t('peers.since', { ago: relTime(p.since) })) : null));
  }
  $('no-peers').hidden = (st.peers || []).length > 0;
  // A laptop that has never met another: say how the others get in.
  const met = (st.peers || []).length > 0 || (st.freshness && st.freshness.last_sync);
  $('first-run').hidden = !!met;
}

async function loadSessions() {
  const sessions = await api('GET', '/sessions');
  const list = $('sessions');
  clear(list);
  for (const s of sessions || []) {
    const href = '/s/' + encodeURIComponent(s.id);
    list.append(el('li', { class: 'session-card' },
      el('h3', {}, el('a', { href }, s.title || shortId(s.id))),
      s.prompt ? el('p', {}, s.prompt) : null,
      el('p', { class: 'meta' }, t('home.session_meta', { cap: s.cap }),
        s.open === false ? ' · ' + t('scribe.closed_short') : ''),
      el('p', {}, el('a', { href: href + '/projection' }, t('home.projection')))));
  }
  $('no-sessions').hidden = (sessions || []).length > 0;
}

async function loadEvents() {
  const now = Date.now();
  const events = ((await api('GET', '/events')) || [])
    .filter((e) => new Date(e.end || e.start).getTime() >= now)
    .sort((a, b) => new Date(a.start) - new Date(b.start))
    .slice(0, 5);
  const list = $('events');
  clear(list);
  for (const ev of events) list.append(eventCard(ev, true));
  $('no-events').hidden = events.length > 0;
}

function refresh() {
  return Promise.all([loadStatus(), loadSessions(), loadEvents()]).catch((e) => {
    $('freshness').textContent = errorText(e);
  });
}

$('session-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('session-error').textContent = '';
  const body = { title: $('s-title').value.trim() };
  const prompt = $('s-prompt').value.trim();
  if (prompt) body.prompt = prompt;
  const cap = parseInt($('s-cap').value, 10);
  if (cap > 0) body.cap = cap;
  try {
    const s = await api('POST', '/sessions', await withChosenIdentity(body));
    window.location.assign('/s/' + encodeURIComponent(s.id));
  } catch (e) {
    $('session-error').textContent = errorText(e);
  }
});

follow(null, refresh);
// Peers come and go without operations: look again now and then.
setInterval(() => loadStatus().catch(() => {}), 10000);
refresh();
