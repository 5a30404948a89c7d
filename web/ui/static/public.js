// The public address's front page: the sessions' live projections and the
// events, for a phone that opened the bare address.

import { $, api, clear, el, errorText, follow, shortId, t } from './common.js';

async function loadSessions() {
  let sessions;
  try {
    sessions = (await api('GET', '/sessions')) || [];
  } catch (e) {
    $('no-sessions').hidden = false;
    $('no-sessions').textContent = errorText(e);
    return;
  }
  const list = $('sessions');
  clear(list);
  for (const s of sessions) {
    list.append(el('li', { class: 'session-card' },
      el('h3', {}, el('a', { href: '/s/' + encodeURIComponent(s.id) + '/projection' }, s.title || shortId(s.id))),
      s.prompt ? el('p', {}, s.prompt) : null,
      s.open === false ? el('p', { class: 'meta' }, t('scribe.closed_short')) : null));
  }
  $('no-sessions').hidden = sessions.length > 0;
}

follow((c) => !c.event, loadSessions);
loadSessions();
