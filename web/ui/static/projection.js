// The projection: the ranked document in large type, live, no controls.
// Rank changes slide into place and changed items light up, unless the
// viewer asked for reduced motion.

import { $, PAGE, api, el, follow, freshnessLine, t, tn } from './common.js';

const sid = PAGE.sid;
const items = new Map(); // id → {li, text, count, key}
const showFreshness = freshnessLine($('freshness'));
const reduced = window.matchMedia('(prefers-reduced-motion: reduce)');

function makeItem(p) {
  const it = {
    rank: el('span', { class: 'rank' }),
    text: el('span', { class: 'ptext' }),
    count: el('span', { class: 'count' }),
  };
  it.li = el('li', { class: 'proposal', dataset: { id: p.id } }, it.rank, it.text, it.count);
  return it;
}

function paint(doc) {
  const s = doc.session || {};
  $('session-title').textContent = s.title || '';
  document.title = (s.title || '') + ' · ' + t('app.name');
  $('session-prompt').textContent = s.prompt || '';
  showFreshness(doc.freshness);

  const list = $('proposals');
  // First: where everything is now, to animate from.
  const before = new Map();
  for (const [id, it] of items) before.set(id, it.li.getBoundingClientRect().top);

  const seen = new Set();
  const changed = [];
  (doc.proposals || []).forEach((p, i) => {
    seen.add(p.id);
    let it = items.get(p.id);
    const fresh = !it;
    if (fresh) { it = makeItem(p); items.set(p.id, it); }
    const text = p.hidden ? t('proposal.hidden') : p.text;
    const key = [p.rank, text, p.endorsements, p.conflict].join('\u0000');
    if (!fresh && it.key !== key) changed.push(it);
    if (fresh && before.size > 0) changed.push(it);
    it.key = key;
    it.rank.textContent = String(p.rank);
    it.text.textContent = text;
    it.text.classList.toggle('muted', !!p.hidden);
    it.count.textContent = tn('projection.endorsements', p.endorsements || 0);
    it.li.classList.toggle('conflict', !!p.conflict);
    if (list.children[i] !== it.li) list.insertBefore(it.li, list.children[i] || null);
  });
  for (const [id, it] of items) {
    if (!seen.has(id)) { it.li.remove(); items.delete(id); }
  }
  $('no-proposals').hidden = seen.size > 0;
  const waiting = (doc.waiting || []).length;
  $('waiting-line').hidden = waiting === 0;
  $('waiting-line').textContent = waiting ? tn('projection.waiting', waiting) : '';

  if (reduced.matches) {
    for (const it of changed) it.li.classList.add('changed-static');
    setTimeout(() => { for (const it of changed) it.li.classList.remove('changed-static'); }, 3000);
    return;
  }
  // Invert and play: each moved item starts where it was and slides home.
  for (const [id, it] of items) {
    const top = before.get(id);
    if (top === undefined) continue;
    const dy = top - it.li.getBoundingClientRect().top;
    if (dy) {
      it.li.classList.remove('moving');
      it.li.style.transform = `translateY(${dy}px)`;
    }
  }
  requestAnimationFrame(() => {
    for (const [, it] of items) {
      if (it.li.style.transform) {
        it.li.classList.add('moving');
        it.li.style.transform = '';
      }
    }
  });
  for (const it of changed) {
    it.li.classList.remove('changed');
    void it.li.offsetWidth; // restart the highlight animation
    it.li.classList.add('changed');
  }
}

async function refresh() {
  try {
    paint(await api('GET', `/sessions/${encodeURIComponent(sid)}/document`));
  } catch (e) {
    $('freshness').textContent = t('projection.unavailable');
  }
}

follow((c) => !c.event && (!c.session || c.session === sid), refresh);
refresh();
