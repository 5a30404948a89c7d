// The congress's arc on the pages: the gathering's languages and the
// agenda's running step. Shared by the projection (also on the public
// view), the scribe page and the facilitator's page.

import { LANG, api, el, t } from './common.js';

// LANGS are the gathering's languages (crdt.Languages).
export const LANGS = ['en', 'es', 'fr', 'pt'];

// langName names a language in the page's language.
let names = null;
try { names = new Intl.DisplayNames([LANG], { type: 'language' }); } catch (e) { names = null; }
export function langName(code) {
  if (!code) return '';
  try { return (names && names.of(code)) || code; } catch (e) { return code; }
}

// The room's clock: /status says how far this laptop's clock is from its
// peers' ("clock.offset_ms", the room's time minus this laptop's). The
// public view has no /status; its offset stays 0.
let offsetMs = 0;
async function pollOffset() {
  try {
    const st = await api('GET', '/status');
    const o = st && st.clock && Number(st.clock.offset_ms);
    offsetMs = Number.isFinite(o) ? o : 0;
  } catch (e) { /* keep the last offset */ }
}

// roomNow is the room's time as well as this laptop can tell.
export function roomNow() { return Date.now() + offsetMs; }

function mmss(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

// stepTimer keeps node showing a session's running step and the time left,
// computed here, every second, from the step's start (the starting
// operation's clock) and the room's time. It returns paint(session).
export function stepTimer(node) {
  let session = null;
  const title = el('span', { class: 'step-title' });
  const left = el('span', { class: 'step-left', role: 'timer', 'aria-live': 'off' });
  node.replaceChildren(title, ' ', left);
  const tick = () => {
    const ph = session && session.phase;
    const steps = (session && session.agenda) || [];
    const step = ph && steps[ph.index];
    node.hidden = !step;
    if (!step) return;
    title.textContent = t('agenda.step', { n: ph.index + 1, total: steps.length, title: step.title });
    const rest = Date.parse(ph.started_at) + step.minutes * 60000 - roomNow();
    node.classList.toggle('over', rest < 0);
    left.textContent = rest >= 0 ? t('agenda.left', { time: mmss(rest) }) : t('agenda.over', { time: mmss(-rest) });
  };
  pollOffset();
  setInterval(pollOffset, 30000);
  setInterval(tick, 1000);
  return (s) => { session = s; tick(); };
}
