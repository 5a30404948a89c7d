// Shared helpers for the pages: messages, API calls, live updates, and safe
// DOM building. User text only ever enters the page through textContent.

const catalog = JSON.parse(document.getElementById('i18n').textContent);
export const PAGE = JSON.parse(document.getElementById('page').textContent);
export const LANG = document.documentElement.lang || 'en';

// t returns the message for key with {name} placeholders filled in.
export function t(key, vars) {
  let s = Object.prototype.hasOwnProperty.call(catalog, key) ? catalog[key] : key;
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  }
  return s;
}

// tn picks the plural form of key (key.one / key.other) for n.
const plural = new Intl.PluralRules(LANG);
export function tn(key, n, vars) {
  const form = plural.select(n) === 'one' ? 'one' : 'other';
  return t(key + '.' + form, Object.assign({ n: n }, vars));
}

// el builds an element. Strings and numbers among children become text nodes.
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

export function $(id) { return document.getElementById(id); }

export function clear(node) { node.replaceChildren(); }

// ApiError carries the API's error code and message.
export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message || code || String(status));
    this.status = status;
    this.code = code || '';
    this.body = body;
  }
}

function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return '';
}

// api calls the JSON API. State changes carry the CSRF token from the
// convene_csrf cookie.
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const opts = { method, headers, credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD') {
    headers['X-CSRF-Token'] = cookie('convene_csrf');
    headers['Content-Type'] = 'application/json';
    if (body !== undefined) opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch('/api/v1' + path, opts);
  } catch (e) {
    throw new ApiError(0, 'network', t('error.network'));
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (!res.ok) {
    throw new ApiError(res.status, data && data.error, data && data.message, data);
  }
  return data;
}

// errorText turns an error into a message for people.
export function errorText(err) {
  if (err instanceof ApiError) {
    const key = 'error.' + err.code;
    const known = t(key);
    if (err.code && known !== key) return known;
    if (err.message) return t('error.generic', { message: err.message });
  }
  return t('error.generic', { message: String(err && err.message || err) });
}

// live announces a message to screen readers.
export function live(msg) {
  const region = $('live');
  if (!region) return;
  region.textContent = '';
  // A fresh text node after clearing makes screen readers repeat a message.
  setTimeout(() => { region.textContent = msg; }, 50);
}

// follow subscribes to the API's change stream. relevant(change) says
// whether a change matters to the page; refresh is called (coalesced) when
// one does (with whether any of the changes came from elsewhere), and on
// resync. EventSource reconnects by itself; on reconnect
// the page refreshes too, since changes may have been missed.
//
// The first change after a quiet moment refreshes at once (a change from
// another laptop should show as soon as it arrives); those that follow
// within 60 ms of a refresh wait for the next, so a burst (a facilitator's
// import, a catch-up) costs one reading every 60 ms, not one per change.
const FOLLOW_EVERY = 60;
export function follow(relevant, refresh) {
  let timer = 0;
  let last = -Infinity;
  let opened = false;
  let remote = false;
  const kick = (fromElsewhere) => {
    remote = remote || fromElsewhere;
    if (timer) return;
    timer = setTimeout(() => {
      timer = 0;
      last = performance.now();
      const r = remote;
      remote = false;
      refresh(r);
    }, Math.max(0, last + FOLLOW_EVERY - performance.now()));
  };
  const es = new EventSource('/api/v1/stream');
  es.addEventListener('change', (ev) => {
    let c = {};
    try { c = JSON.parse(ev.data); } catch (e) { /* a malformed event only refreshes */ }
    if (!relevant || relevant(c)) kick(!c.local);
  });
  es.addEventListener('resync', () => kick(true));
  es.addEventListener('open', () => { if (opened) kick(true); opened = true; });
  return es;
}

// historyLine shows, while a laptop catches up, whether this document's
// history is still arriving or only older history is, and asks again shortly: the catch-up can end with no
// change left to announce it.
export function historyLine(node, refresh) {
  let timer = 0;
  return (doc) => {
    const h = doc.history || '';
    node.hidden = h === '';
    node.textContent = h === 'arriving' ? t('catchup.arriving') : h === 'complete' ? t('catchup.complete') : '';
    clearTimeout(timer);
    if (h !== '') timer = setTimeout(refresh, 3000);
  };
}

// Relative and absolute times in the page's language.
const rtf = new Intl.RelativeTimeFormat(LANG, { numeric: 'auto', style: 'long' });
export function relTime(date, now = Date.now()) {
  const s = Math.round((new Date(date).getTime() - now) / 1000);
  const a = Math.abs(s);
  if (a < 60) return rtf.format(s, 'second');
  if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (a < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

export function fmtDateTime(date, timeZone) {
  const opts = { dateStyle: 'medium', timeStyle: 'short' };
  if (timeZone) opts.timeZone = timeZone;
  try {
    return new Intl.DateTimeFormat(LANG, opts).format(new Date(date));
  } catch (e) {
    return new Intl.DateTimeFormat(LANG, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(date));
  }
}

function validTime(s) {
  if (!s) return false;
  const d = new Date(s);
  return !isNaN(d.getTime()) && d.getTime() > 0;
}

// freshnessText says how current the node's view is.
export function freshnessText(f, now = Date.now()) {
  if (!f) return '';
  const peers = f.peers || 0;
  if (!validTime(f.last_sync)) {
    return peers > 0 ? tn('freshness.connected', peers) : t('freshness.alone');
  }
  return tn('freshness.synced', peers, { ago: relTime(f.last_sync, now) });
}

// showFreshness keeps a freshness line current: the relative time moves
// on every few seconds between updates from the API.
export function freshnessLine(node) {
  let current = null;
  const paint = () => { node.textContent = freshnessText(current); };
  setInterval(paint, 5000);
  return (f) => { current = f; paint(); };
}

// shortId shortens an id for display.
export function shortId(id) {
  id = String(id || '');
  return id.length > 12 ? id.slice(0, 6) + '…' + id.slice(-4) : id;
}

// provenance says where an imported proposal came from ("" for one made
// here): the source gathering and proposal, and the ratified document it
// was taken from.
export function provenance(p) {
  const f = p && p.from;
  if (!f) return '';
  const vars = { gathering: shortId(f.gathering), proposal: shortId(f.proposal), digest: shortId(f.digest) };
  return f.digest ? t('proposal.imported_ratified', vars) : t('proposal.imported', vars);
}

// Choices remembered across pages.
export const store = {
  get(k) { try { return localStorage.getItem('convene.' + k) || ''; } catch (e) { return ''; } },
  set(k, v) { try { localStorage.setItem('convene.' + k, v); } catch (e) { /* private mode */ } },
};

// withChosenIdentity adds to a write's body the identity last chosen on a
// page of this node (as "as"), when this node still holds it, so that the
// person, not the server, says who acts.
export async function withChosenIdentity(body) {
  const id = store.get('identity');
  if (!id) return body;
  const ids = (await api('GET', '/identities')) || [];
  return ids.some((i) => i.id === id) ? { ...body, as: id } : body;
}

// fillSelect replaces a select's options, keeping value if it is present.
export function fillSelect(select, items, value, emptyLabel) {
  clear(select);
  if (emptyLabel) select.append(el('option', { value: '' }, emptyLabel));
  for (const it of items) select.append(el('option', { value: it.value }, it.label));
  if (items.some((it) => it.value === value)) select.value = value;
  else if (!emptyLabel && items.length) select.value = items[0].value;
  else select.value = '';
}

// statusOf normalizes /status: the API names the gathering either as an
// object or as flat fields.
export function gatheringName(st) {
  if (!st) return '';
  if (st.gathering && typeof st.gathering === 'object') return st.gathering.name || '';
  return st.gathering_name || st.name || '';
}

// --- Node liveness and clock banner (engineer F's block) ---
// Every page watches its own node: when /status stops answering (the node
// was killed, the laptop's server is gone) a banner says so within a few
// seconds, and goes away when the node answers again; the page then
// refreshes through follow's reconnect. The same poll shows the clock
// warning the node reports (this laptop's clock far from the room's).
const WATCH_EVERY = 2000;
const WATCH_TIMEOUT = 1500;

function nodeBanner() {
  let b = document.getElementById('node-banner');
  if (!b) {
    b = el('div', { id: 'node-banner', class: 'node-banner', role: 'alert', hidden: true },
      el('p', { id: 'node-gone', hidden: true }, t('liveness.gone')),
      el('p', { id: 'node-clock', hidden: true }));
    const main = document.getElementById('main');
    if (main) main.before(b); else document.body.prepend(b);
  }
  return b;
}

function roughly(ms) {
  const min = Math.round(Math.abs(ms) / 60000);
  return min < 60 ? t('liveness.minutes', { n: min })
    : (min % 60 === 0 ? t('liveness.hours', { h: Math.floor(min / 60) }) : t('liveness.hours_minutes', { h: Math.floor(min / 60), n: min % 60 }));
}

// AHEAD_ACCEPTED is how far ahead of a receiver's clock an operation may
// be (crdt.MaxDriftMillis): ops stamped further ahead wait until then.
const AHEAD_ACCEPTED = 5 * 60000;

function clockText(c) {
  const parts = [];
  // The offset warns past 2 min; ahead_ms alone (the clock since fixed)
  // still warns about operations stamped before.
  if (Math.abs(c.offset_ms) > 2 * 60000) {
    parts.push(t(c.offset_ms < 0 ? 'liveness.clock_ahead' : 'liveness.clock_behind', { d: roughly(c.offset_ms) }));
  }
  if (c.ahead_ms) {
    parts.push(t('liveness.ops_ahead', { d: roughly(c.ahead_ms), wait: roughly(c.ahead_ms - AHEAD_ACCEPTED) }));
  }
  return parts.join(' ');
}

async function watchNode() {
  const b = nodeBanner();
  let gone = false;
  let clock = null;
  try {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), WATCH_TIMEOUT);
    const res = await fetch('/api/v1/status', { signal: ctl.signal, credentials: 'same-origin', headers: { Accept: 'application/json' } });
    clearTimeout(timer);
    // Any answer, even a refusal (the public view), means the node is up.
    if (res.ok) {
      const st = await res.json().catch(() => null);
      if (st && st.clock && st.clock.warning) clock = st.clock;
    }
  } catch (e) {
    gone = true;
  }
  const wasGone = !document.getElementById('node-gone').hidden;
  document.getElementById('node-gone').hidden = !gone;
  const cl = document.getElementById('node-clock');
  if (!gone) {
    cl.hidden = !clock;
    cl.textContent = clock ? clockText(clock) : '';
  }
  b.hidden = !gone && !clock;
  if (gone !== wasGone) live(gone ? t('liveness.gone') : t('liveness.back'));
  document.body.classList.toggle('node-gone', gone);
}

watchNode();
setInterval(watchNode, WATCH_EVERY);

// documentGroups reads a document's group names (the API gives them in
// reading order). name(id) is a group's name, or a placeholder when it is
// hidden or unknown; endorsers(p) names p's endorsing groups in that order.
export function documentGroups(doc) {
  const order = (doc && doc.groups) || [];
  const byId = new Map(order.map((g, i) => [g.id, { name: g.name, i }]));
  const name = (id) => {
    const g = byId.get(id);
    if (!g) return shortId(id);
    return g.name || t('group.hidden');
  };
  const endorsers = (p) => (p.endorsed_by || []).slice()
    .sort((a, b) => (byId.has(a) ? byId.get(a).i : Infinity) - (byId.has(b) ? byId.get(b).i : Infinity))
    .map(name);
  return { name, endorsers };
}

// utf8Length is what the API counts text limits in.
export function utf8Length(s) { return new TextEncoder().encode(s).length; }
