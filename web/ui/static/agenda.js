// The facilitator's agenda controls for one session: a one-click template
// of the seed congress's plan, the steps as editable lines, and a button
// to start each step (or stop the timer). Starting a step and setting the
// agenda ask no confirmation: both are undone as easily as done.

import { el, errorText, t } from './common.js';

// seedPlan is the seed congress's time plan, titled in the page's language.
export function seedPlan() {
  return [
    { title: t('agenda.seed_intro'), minutes: 15 },
    { title: t('agenda.seed_collab'), minutes: 45 },
    { title: t('agenda.seed_global'), minutes: 30 },
    { title: t('agenda.seed_local'), minutes: 30 },
  ];
}

// The page redraws its tables on every change: which sessions' controls
// were open survives the redraw.
const opened = new Set();

// parseSteps reads "minutes title" lines; null when a line is not one.
function parseSteps(text) {
  const steps = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const m = /^\s*(\d{1,4})\s+(.+?)\s*$/.exec(line);
    if (!m || +m[1] < 1 || +m[1] > 1440) return null;
    steps.push({ title: m[2], minutes: +m[1] });
  }
  return steps;
}

// agendaControls builds the controls of session s. patch(body) sends a
// PATCH of the session; post(path, body) a POST below it; say(msg) tells
// the facilitator what happened.
export function agendaControls(s, patch, post, say) {
  const steps = s.agenda || [];
  const running = s.phase ? s.phase.index : -1;
  const run = async (call, done) => {
    try { await call(); say(done); } catch (e) { say(errorText(e)); }
  };
  const fid = 'agenda-' + s.id;
  const lines = el('textarea', { id: fid, rows: Math.max(3, steps.length + 1), class: 'agenda-lines' });
  lines.value = steps.map((st) => `${st.minutes} ${st.title}`).join('\n');
  const save = el('button', { type: 'button', class: 'save-agenda' }, t('agenda.save'));
  save.addEventListener('click', () => {
    const agenda = parseSteps(lines.value);
    if (!agenda) { say(t('agenda.bad_lines')); return; }
    run(() => patch({ agenda }), t('agenda.saved'));
  });
  const template = el('button', { type: 'button', class: 'agenda-template' }, t('agenda.template'));
  template.addEventListener('click', () => run(() => patch({ agenda: seedPlan() }), t('agenda.saved')));
  const starts = steps.map((st, i) => {
    const b = el('button', { type: 'button', class: i === running ? 'start-step running' : 'start-step', dataset: { index: i },
      'aria-pressed': i === running ? 'true' : 'false' }, t('agenda.start', { title: st.title, minutes: st.minutes }));
    b.addEventListener('click', () => run(() => post('/phase', { index: i }), t('agenda.started', { title: st.title })));
    return el('li', {}, b);
  });
  const stop = el('button', { type: 'button', class: 'secondary stop-step', hidden: running < 0 }, t('agenda.stop'));
  stop.addEventListener('click', () => run(() => post('/phase', { index: -1 }), t('agenda.stopped')));
  const d = el('details', { class: 'agenda-controls', open: opened.has(s.id) },
    el('summary', {}, steps.length ? t('agenda.summary', { n: steps.length }) : t('agenda.title')),
    el('ol', { class: 'plain steps' }, starts), stop,
    el('p', {}, template),
    el('label', { for: fid }, t('agenda.lines')), lines, save);
  d.addEventListener('toggle', () => { if (d.open) opened.add(s.id); else opened.delete(s.id); });
  return d;
}
