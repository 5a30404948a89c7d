// The projection: the ranked document in large type, live, no controls.
// Rank changes slide into place and changed items light up, unless the
// viewer asked for reduced motion. On a projector the whole document fits
// one screen: two columns past a few proposals, then smaller type down to
// a size still readable from the back, then a slow scroll.

import { $, LANG, PAGE, api, documentGroups, el, follow, freshnessLine, historyLine, provenance, t, tn } from './common.js';
import { LANGS, langName, stepTimer } from './arc.js';

const sid = PAGE.sid;
const items = new Map(); // id → {li, text, count, key}
const showFreshness = freshnessLine($('freshness'));
const showHistory = historyLine($('history-note'), () => refresh());
const reduced = window.matchMedia('(prefers-reduced-motion: reduce)');
const showStep = stepTimer($('agenda-now'));

// The room's language: the proposals show their fresh translations into
// it, naming the original's language. The projector chooses it with
// ?text= (kept in the address, so a reload keeps it) or the operator's
// menu (not on the public view, which has no controls); it defaults to the
// page's language. "" shows the original texts.
const params = new URLSearchParams(location.search);
let roomLang = params.has('text') ? params.get('text') : LANG;
if (roomLang && !LANGS.includes(roomLang)) roomLang = '';
const roomSelect = $('room-lang');
if (roomSelect) {
  for (const l of LANGS) roomSelect.append(el('option', { value: l }, langName(l)));
  roomSelect.value = roomLang;
  roomSelect.addEventListener('change', () => {
    roomLang = roomSelect.value;
    params.set('text', roomLang);
    history.replaceState(null, '', location.pathname + '?' + params.toString());
    refresh();
  });
}

// translationNote says what a room reading roomLang is shown: a
// translation (naming the original's language, with the original), or
// the original because the translation is out of date.
function translationNote(p) {
  if (p.hidden) return '';
  const tr = (p.translations || {})[roomLang];
  if (p.text_lang && tr) {
    const head = tr.from ? t('projection.translated_from', { lang: langName(tr.from) }) : t('projection.translated');
    return head + ' ' + p.original;
  }
  if (tr && tr.stale) return t('projection.translation_stale', { lang: langName(roomLang) });
  return '';
}

function makeItem(p) {
  const it = {
    rank: el('span', { class: 'rank' }),
    text: el('span', { class: 'ptext' }),
    count: el('span', { class: 'count' }),
    merging: el('span', { class: 'merging', hidden: true }),
    original: el('p', { class: 'original', hidden: true }),
    endorsers: el('span', { class: 'endorsers' }),
    author: el('span', { class: 'author' }),
    from: el('span', { class: 'from', hidden: true }),
  };
  it.li = el('li', { class: 'proposal', dataset: { id: p.id } }, it.rank,
    el('div', { class: 'pbody' }, it.text, it.original,
      el('p', { class: 'pgroups' }, it.merging, it.endorsers, it.author, it.from)),
    it.count);
  return it;
}

function paint(doc) {
  const s = doc.session || {};
  $('session-title').textContent = s.title || '';
  document.title = (s.title || '') + ' · ' + t('app.name');
  $('session-prompt').textContent = s.prompt || '';
  showStep(s);
  showFreshness(doc.freshness);
  showHistory(doc);

  const list = $('proposals');
  // First: where everything is now, to animate from.
  const before = new Map();
  for (const [id, it] of items) before.set(id, it.li.getBoundingClientRect().top);

  const groups = documentGroups(doc);
  const seen = new Set();
  const changed = [];
  (doc.proposals || []).forEach((p, i) => {
    seen.add(p.id);
    let it = items.get(p.id);
    const fresh = !it;
    if (fresh) { it = makeItem(p); items.set(p.id, it); }
    const text = p.hidden ? t('proposal.hidden') : p.text;
    const endorsers = groups.endorsers(p);
    const versions = (p.heads || []).length;
    const note = translationNote(p);
    const from = provenance(p);
    const key = [p.rank, text, note, p.endorsements, p.conflict, versions, endorsers.join(','), p.group, from].join('\u0000');
    if (!fresh && it.key !== key) changed.push(it);
    if (fresh && before.size > 0) changed.push(it);
    it.key = key;
    it.rank.textContent = String(p.rank);
    it.text.textContent = text;
    if (p.text_lang) it.text.setAttribute('lang', p.text_lang); else it.text.removeAttribute('lang');
    it.text.classList.toggle('muted', !!p.hidden);
    it.original.textContent = note;
    it.original.hidden = !note;
    it.original.classList.toggle('stale', !p.text_lang && !!note);
    it.count.textContent = tn('projection.endorsements', p.endorsements || 0);
    it.li.classList.toggle('conflict', !!p.conflict);
    it.merging.hidden = !p.conflict;
    it.merging.textContent = p.conflict ? tn('projection.merging', Math.max(versions, 2)) : '';
    it.endorsers.textContent = endorsers.length ? t('projection.endorsed_by', { groups: endorsers.join(', ') }) : '';
    it.author.textContent = t('projection.written_by', { group: groups.name(p.group) });
    it.from.textContent = from;
    it.from.hidden = !from;
    if (list.children[i] !== it.li) list.insertBefore(it.li, list.children[i] || null);
  });
  for (const [id, it] of items) {
    if (!seen.has(id)) { it.li.remove(); items.delete(id); }
  }
  $('no-proposals').hidden = seen.size > 0;
  const waiting = (doc.waiting || []).length;
  $('waiting-line').hidden = waiting === 0;
  $('waiting-line').textContent = waiting ? tn('projection.waiting', waiting) : '';
  fit();

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

// The sizes the type may take on a projector, in CSS pixels: the largest
// reads well from the back of a hall, the smallest still from the back of
// a classroom on a 1280×800 projector.
const largest = 36;
const smallest = 20;
const projector = window.matchMedia('(min-width: 900px)');
let scroller = 0;

function overflows() {
  return document.documentElement.scrollHeight > window.innerHeight;
}

// fit makes the document fit the screen: two columns, then smaller type,
// then (only if it still does not fit) a slow scroll.
function fit() {
  const list = $('proposals');
  list.style.fontSize = '';
  list.classList.remove('two-col');
  document.body.classList.remove('scrolls', 'dense');
  clearInterval(scroller);
  if (!projector.matches) return; // a phone scrolls as usual
  list.classList.toggle('two-col', list.children.length > 4);
  // Dense (a smaller title and code) only when the full size does not fit.
  for (const dense of [false, true]) {
    document.body.classList.toggle('dense', dense);
    let size = largest;
    list.style.fontSize = size + 'px';
    while (overflows() && size > smallest) {
      size -= 1;
      list.style.fontSize = size + 'px';
    }
    if (!overflows()) break;
  }
  if (overflows() && !reduced.matches) {
    document.body.classList.add('scrolls');
    let down = true;
    scroller = setInterval(() => {
      const end = document.documentElement.scrollHeight - window.innerHeight;
      if (down && window.scrollY >= end - 1) down = false;
      else if (!down && window.scrollY <= 0) down = true;
      window.scrollBy(0, down ? 1 : -1);
    }, 80);
  }
}
window.addEventListener('resize', fit);
const code = document.querySelector('.join img');
if (code) code.addEventListener('load', fit);

// The operator's menu: hidden on the projector, shown by the corner
// control or the M key, hidden again by Escape.
function operator(show) {
  document.body.classList.toggle('operator', show);
  $('kiosk-toggle').setAttribute('aria-expanded', show ? 'true' : 'false');
  $('kiosk-toggle').textContent = show ? t('projection.menu_hide') : t('projection.menu');
  fit();
}
$('kiosk-toggle').addEventListener('click', (ev) => {
  ev.preventDefault();
  operator(!document.body.classList.contains('operator'));
});
document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === 'm' || ev.key === 'M') operator(!document.body.classList.contains('operator'));
  else if (ev.key === 'Escape') operator(false);
});

async function refresh() {
  try {
    const q = roomLang ? '?lang=' + encodeURIComponent(roomLang) : '';
    paint(await api('GET', `/sessions/${encodeURIComponent(sid)}/document${q}`));
  } catch (e) {
    $('freshness').textContent = t('projection.unavailable');
  }
}

follow((c) => !c.event && (!c.session || c.session === sid), refresh);
refresh();
