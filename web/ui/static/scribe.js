// The scribe's view of a session: choose identity and group, propose, edit,
// endorse, resolve conflicts, read history, comment.

import {
  $, PAGE, api, clear, documentGroups, el, errorText, fillSelect, fmtDateTime,
  follow, freshnessLine, historyLine, live, provenance, shortId, store, t, tn, utf8Length, ApiError,
} from './common.js';
import { renderDiff } from './diff.js';
import { stepTimer } from './arc.js';
import { translationBox } from './translate.js';

const sid = PAGE.sid;
const enc = encodeURIComponent;

const state = {
  doc: null,
  identities: [],
  groups: new Map(), // id → group
  identity: store.get('identity'),
  group: store.get('group'),
};

// items keeps one list element per proposal so that a live update never
// throws away an edit in progress.
const items = new Map();

const showFreshness = freshnessLine($('freshness'));
const showHistory = historyLine($('history-note'), () => refresh());
const showStep = stepTimer($('agenda-now'));
const translating = {
  canAct: () => canAct(), group: () => state.group, identity: () => state.identity, refresh: () => refresh(),
};

// The API's limit on a proposal's text, in bytes (maxlength counts
// characters, so the page checks bytes before sending).
const maxText = 8000;

function tooLong(text) {
  const n = utf8Length(text);
  return n > maxText ? t('proposal.too_long', { n, max: maxText }) : '';
}

// On a phone, "Who is writing" folds to one line once an identity and a
// group are chosen; "Change" opens it again.
let youOpen = false;
$('you-change').addEventListener('click', () => {
  youOpen = !youOpen;
  paintYou();
  if (youOpen) $('identity').focus();
});

function paintYou() {
  const folded = canAct() && !youOpen;
  $('you').classList.toggle('chosen', canAct());
  $('you').classList.toggle('folded', folded);
  $('you-change').setAttribute('aria-expanded', folded ? 'false' : 'true');
  $('you-change').textContent = folded ? t('scribe.change') : t('scribe.fold');
  $('you-summary').textContent = canAct()
    ? t('scribe.writing_as', { identity: identityName(state.identity), group: groupName(state.group) }) : '';
}

function groupName(id) {
  const g = state.groups.get(id);
  return g ? g.name : shortId(id);
}

function identityName(id) {
  const i = state.identities.find((x) => x.id === id);
  return i ? i.name : shortId(id);
}

function myGroups() {
  return [...state.groups.values()].filter((g) => (g.scribes || []).includes(state.identity));
}

function canAct() {
  return state.group !== '' && myGroups().some((g) => g.id === state.group);
}

// --- identity and group -------------------------------------------------

function paintChooser() {
  fillSelect($('identity'), state.identities.map((i) => ({
    value: i.id, label: i.default ? t('scribe.identity_default', { name: i.name }) : i.name,
  })), state.identity);
  if (state.identity !== $('identity').value) {
    state.identity = $('identity').value;
    store.set('identity', state.identity);
  }
  // The rename field starts from the chosen identity's name (unless the
  // person is typing in it).
  if (document.activeElement !== $('rename-identity')) {
    const me = state.identities.find((i) => i.id === state.identity);
    $('rename-identity').value = me ? me.name : '';
  }
  const mine = myGroups();
  fillSelect($('group'), mine.map((g) => ({ value: g.id, label: g.name })), state.group,
    mine.length ? '' : t('scribe.no_group'));
  if (state.group !== $('group').value) {
    state.group = $('group').value;
    store.set('group', state.group);
  }
  $('group-note').textContent = canAct()
    ? t('scribe.acting_as', { group: groupName(state.group), identity: identityName(state.identity) })
    : t('scribe.choose_group');
  for (const [, item] of items) paintActions(item);
  paintFull();
  paintYou();
  paintMyWaiting();
}

$('identity').addEventListener('change', () => {
  state.identity = $('identity').value;
  store.set('identity', state.identity);
  paintChooser();
});

$('group').addEventListener('change', () => {
  state.group = $('group').value;
  store.set('group', state.group);
  paintChooser();
});

$('identity-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $('new-identity').value.trim();
  if (!name) return;
  try {
    const id = await api('POST', '/identities', { name });
    $('new-identity').value = '';
    await loadPeople({ identity: id.id });
    live(t('scribe.identity_created', { name }));
  } catch (e) {
    live(errorText(e));
    $('group-note').textContent = errorText(e);
  }
});

// Renaming the chosen identity: its own naming operation, so every laptop
// shows the new name.
$('rename-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $('rename-identity').value.trim();
  if (!name || !state.identity) return;
  try {
    await api('PATCH', `/identities/${enc(state.identity)}`, { name });
    await loadPeople();
    live(t('scribe.identity_renamed', { name }));
  } catch (e) {
    $('group-note').textContent = errorText(e);
    live(errorText(e));
  }
});

$('group-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $('new-group').value.trim();
  if (!name) return;
  const body = { name };
  if (state.identity) body.as = state.identity;
  try {
    const g = await api('POST', '/groups', body);
    $('new-group').value = '';
    youOpen = false; // chosen: fold (on a phone) and keep the focus on the panel
    await loadPeople({ group: g.id });
    // Folded (on a phone) the form is gone: keep the focus on the panel.
    if ($('you-change').offsetParent !== null) $('you-change').focus();
    live(t('scribe.group_created', { name }));
  } catch (e) {
    $('group-note').textContent = errorText(e);
    live(errorText(e));
  }
});

// loadPeople reads the identities and groups, and chooses want's identity
// and group once they are in the lists: a live refresh that comes between
// creating one and reading the lists again would otherwise fall back to
// another choice.
async function loadPeople(want = {}) {
  const [ids, groups] = await Promise.all([api('GET', '/identities'), api('GET', '/groups')]);
  state.identities = ids || [];
  state.groups = new Map((groups || []).map((g) => [g.id, g]));
  if (want.identity && state.identities.some((i) => i.id === want.identity)) {
    state.identity = want.identity;
    store.set('identity', want.identity);
  }
  if (want.group && state.groups.has(want.group)) {
    state.group = want.group;
    store.set('group', want.group);
  }
  if (!state.identities.some((i) => i.id === state.identity)) {
    const def = state.identities.find((i) => i.default) || state.identities[0];
    state.identity = def ? def.id : '';
    store.set('identity', state.identity);
  }
  paintChooser();
}

// --- proposing ----------------------------------------------------------

function isFull() {
  const d = state.doc;
  return d && d.session && d.session.cap > 0 && (d.proposals || []).length >= d.session.cap;
}

function paintFull() {
  const d = state.doc;
  const full = isFull();
  const closed = d && d.session && d.session.open === false;
  $('full-note').hidden = !full && !closed;
  $('full-note').textContent = closed ? t('scribe.closed') : t('scribe.full');
  $('propose-form').hidden = full || closed;
  $('propose-button').disabled = !canAct();
}

$('propose-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const text = $('proposal-text').value.trim();
  $('propose-error').textContent = '';
  if (!text) return;
  if (!canAct()) { $('propose-error').textContent = t('scribe.choose_group'); return; }
  const long = tooLong(text);
  if (long) { $('propose-error').textContent = long; return; }
  try {
    await api('POST', `/sessions/${enc(sid)}/proposals`, { group: state.group, text, as: state.identity });
    $('proposal-text').value = '';
    live(t('scribe.proposed'));
    await refresh();
  } catch (e) {
    if (e instanceof ApiError && e.code === 'cap_reached') {
      await refresh();
      $('full-note').hidden = false;
      $('full-note').textContent = t('scribe.full');
      $('propose-form').hidden = true;
      live(t('scribe.full'));
      return;
    }
    $('propose-error').textContent = errorText(e);
  }
});

// --- the proposals ------------------------------------------------------

function makeItem(p) {
  const item = { id: p.id, p, editing: null };
  item.rank = el('span', { class: 'rank', 'aria-hidden': 'true' });
  item.text = el('p', { class: 'ptext' });
  item.count = el('span', { class: 'count' });
  item.by = el('span', { class: 'by' });
  item.badge = el('p', { class: 'badge conflict', hidden: true });
  item.ours = el('p', { class: 'badge ours', hidden: true });
  item.from = el('p', { class: 'from muted', hidden: true });
  item.endorse = el('button', { type: 'button', class: 'endorse' });
  item.edit = el('button', { type: 'button' }, t('proposal.edit'));
  item.historyBtn = el('button', { type: 'button', 'aria-expanded': 'false' }, t('proposal.history'));
  item.commentsBtn = el('button', { type: 'button', 'aria-expanded': 'false' }, t('proposal.comments'));
  item.error = el('p', { class: 'error', role: 'alert' });
  item.tr = translationBox(p.id, translating);

  item.textarea = el('textarea', { rows: 4, id: 'edit-' + p.id, maxlength: maxText });
  item.editNote = el('div', { class: 'edit-note' });
  item.save = el('button', { type: 'submit' }, t('proposal.save'));
  item.cancel = el('button', { type: 'button', class: 'secondary' }, t('proposal.cancel'));
  item.editor = el('form', { class: 'editor stack', hidden: true },
    el('label', { for: 'edit-' + p.id }, t('proposal.edit_label')),
    item.textarea, item.editNote, el('div', { class: 'buttons' }, item.save, item.cancel));

  item.heads = el('div', { class: 'heads', hidden: true });
  item.history = el('div', { class: 'history', hidden: true });
  item.comments = el('div', { class: 'comments', hidden: true });

  item.li = el('li', { class: 'proposal', dataset: { id: p.id } },
    el('div', { class: 'phead' }, item.rank,
      el('div', { class: 'pbody' }, item.text, el('p', { class: 'pmeta' }, item.count, ' ', item.by), item.from, item.ours, item.badge)),
    el('div', { class: 'buttons actions' }, item.endorse, item.edit, item.historyBtn, item.commentsBtn, item.tr.button),
    item.error, item.tr.node, item.heads, item.editor, item.history, item.comments);

  item.endorse.addEventListener('click', () => toggleEndorse(item));
  item.edit.addEventListener('click', () => startEdit(item, item.p.heads));
  item.cancel.addEventListener('click', () => stopEdit(item));
  item.editor.addEventListener('submit', (ev) => { ev.preventDefault(); saveEdit(item); });
  item.historyBtn.addEventListener('click', () => toggle(item, 'history'));
  item.commentsBtn.addEventListener('click', () => toggle(item, 'comments'));
  return item;
}

function headsOf(p) {
  return (p.heads && p.heads.length) ? p.heads.slice() : [p.revision];
}

function paintItem(item, p) {
  const prev = item.p;
  item.p = p;
  item.rank.textContent = String(p.rank);
  item.li.setAttribute('aria-label', t('proposal.rank', { rank: p.rank }));
  if (p.hidden) {
    item.text.textContent = t('proposal.hidden');
    item.text.classList.add('muted');
  } else {
    item.text.textContent = p.text;
    item.text.classList.remove('muted');
  }
  item.count.textContent = tn('proposal.endorsements', p.endorsements || 0);
  const by = documentGroups(state.doc).endorsers(p);
  item.by.textContent = by.length ? t('proposal.endorsed_by', { groups: by.join(', ') }) : '';
  item.from.textContent = provenance(p);
  item.from.hidden = !p.from;
  item.badge.hidden = !p.conflict;
  item.badge.textContent = p.conflict ? tn('proposal.conflict', headsOf(p).length) : '';
  paintActions(item);
  const headsKey = headsOf(p).join(',');
  if (p.conflict && (!prev || item.headsKey !== headsKey || item.heads.hidden)) {
    item.headsKey = headsKey;
    showHeads(item);
  } else if (!p.conflict) {
    item.heads.hidden = true;
    item.headsKey = '';
  }
  if (prev && prev.revision !== p.revision) {
    if (!item.history.hidden) loadHistory(item);
  }
}

function paintActions(item) {
  const p = item.p;
  const mine = (p.endorsed_by || []).includes(state.group);
  item.endorse.textContent = mine ? t('proposal.withdraw') : t('proposal.endorse');
  item.ours.hidden = !mine;
  item.ours.textContent = mine ? t('proposal.ours', { group: groupName(state.group) }) : '';
  item.li.classList.toggle('ours', mine);
  const comments = (state.doc && state.doc.comments && state.doc.comments[p.id]) || 0;
  item.historyBtn.textContent = t('proposal.history_n', { n: p.revisions || 1 });
  item.commentsBtn.textContent = t('proposal.comments_n', { n: comments });
  item.endorse.setAttribute('aria-pressed', mine ? 'true' : 'false');
  item.endorse.disabled = !canAct() || p.hidden;
  item.edit.disabled = !canAct() || p.hidden;
  item.edit.textContent = p.conflict ? t('proposal.resolve') : t('proposal.edit');
  item.tr.paint(p);
}

async function toggleEndorse(item) {
  item.error.textContent = '';
  const mine = (item.p.endorsed_by || []).includes(state.group);
  try {
    await api(mine ? 'DELETE' : 'PUT', `/proposals/${enc(item.id)}/endorsements/${enc(state.group)}?as=${enc(state.identity)}`);
    live(mine ? t('proposal.withdrawn') : t('proposal.endorsed'));
    await refresh();
  } catch (e) {
    item.error.textContent = errorText(e);
  }
}

function startEdit(item, base) {
  item.editing = { base: base && base.length ? base.slice() : headsOf(item.p) };
  item.textarea.value = item.p.text;
  clear(item.editNote);
  if (item.p.conflict) item.editNote.append(el('p', { class: 'note' }, t('proposal.resolve_note')));
  item.editor.hidden = false;
  item.textarea.focus();
}

function stopEdit(item) {
  item.editing = null;
  item.editor.hidden = true;
  clear(item.editNote);
  item.edit.focus();
}

async function saveEdit(item) {
  const text = item.textarea.value.trim();
  if (!text || !item.editing) return;
  clear(item.editNote);
  const long = tooLong(text);
  if (long) { item.editNote.append(el('p', { class: 'error', role: 'alert' }, long)); return; }
  try {
    await api('POST', `/proposals/${enc(item.id)}/revisions`,
      { group: state.group, text, base: item.editing.base, as: state.identity });
    item.editing = null;
    item.editor.hidden = true;
    live(t('proposal.saved'));
    await refresh();
    item.edit.focus();
  } catch (e) {
    if (e instanceof ApiError && e.code === 'conflict') {
      await showTheirs(item);
      return;
    }
    item.editNote.append(el('p', { class: 'error', role: 'alert' }, errorText(e)));
  }
}

// showTheirs handles an edit that lost a race: someone else changed the
// proposal meanwhile. Their text is shown, and the next save builds on it.
async function showTheirs(item) {
  let p;
  try {
    p = await api('GET', `/proposals/${enc(item.id)}`);
  } catch (e) {
    item.editNote.append(el('p', { class: 'error', role: 'alert' }, errorText(e)));
    return;
  }
  item.editing.base = headsOf(p);
  const use = el('button', { type: 'button', class: 'secondary' }, t('proposal.use_theirs'));
  use.addEventListener('click', () => { item.textarea.value = p.text; item.textarea.focus(); });
  clear(item.editNote);
  item.editNote.append(
    el('p', { class: 'warn', role: 'alert' }, t('proposal.changed_meanwhile')),
    el('blockquote', { class: 'theirs' }, p.text),
    el('p', { class: 'note' }, t('proposal.save_again')),
    use);
  live(t('proposal.changed_meanwhile'));
}

async function showHeads(item) {
  item.heads.hidden = false;
  let revs;
  try {
    revs = await api('GET', `/proposals/${enc(item.id)}/revisions`);
  } catch (e) {
    item.heads.replaceChildren(el('p', { class: 'error' }, errorText(e)));
    return;
  }
  const heads = headsOf(item.p);
  const list = el('ul', { class: 'plain' });
  for (const h of heads) {
    const r = (revs || []).find((x) => x.id === h);
    if (!r) continue;
    list.append(el('li', {},
      el('p', { class: 'meta' }, t('proposal.version_by', { group: groupName(r.group), when: fmtDateTime(r.at) })),
      el('blockquote', {}, r.hidden ? t('proposal.hidden') : r.text)));
  }
  item.heads.replaceChildren(el('p', { class: 'note' }, t('proposal.conflict_note')), list);
}

function toggle(item, what) {
  const panel = item[what];
  const btn = what === 'history' ? item.historyBtn : item.commentsBtn;
  panel.hidden = !panel.hidden;
  btn.setAttribute('aria-expanded', panel.hidden ? 'false' : 'true');
  if (!panel.hidden) (what === 'history' ? loadHistory : loadComments)(item);
}

async function loadHistory(item) {
  let revs;
  try {
    revs = await api('GET', `/proposals/${enc(item.id)}/revisions`);
  } catch (e) {
    item.history.replaceChildren(el('p', { class: 'error' }, errorText(e)));
    return;
  }
  revs = (revs || []).slice().sort((a, b) => String(a.at).localeCompare(String(b.at)) || (a.id < b.id ? -1 : 1));
  const byId = new Map(revs.map((r) => [r.id, r]));
  const heads = new Set(headsOf(item.p));
  const list = el('ol', { class: 'revisions', reversed: true });
  for (const r of revs.slice().reverse()) {
    const parent = (r.parents || []).map((id) => byId.get(id)).find(Boolean);
    const body = el('p', { class: 'diff' });
    if (r.hidden) body.textContent = t('proposal.hidden');
    else if (parent && !parent.hidden) renderDiff(body, parent.text, r.text);
    else body.textContent = r.text;
    const label = parent ? t('history.edit_by', { group: groupName(r.group), when: fmtDateTime(r.at) })
      : t('history.first_by', { group: groupName(r.group), when: fmtDateTime(r.at) });
    list.append(el('li', { class: heads.has(r.id) ? 'head' : '' },
      el('p', { class: 'meta' }, label, heads.has(r.id) ? ' · ' + t('history.current') : ''), body));
  }
  item.history.replaceChildren(el('h3', {}, tn('history.title', revs.length)), list);
}

async function loadComments(item) {
  let comments;
  try {
    comments = await api('GET', `/proposals/${enc(item.id)}/comments`);
  } catch (e) {
    item.comments.replaceChildren(el('p', { class: 'error' }, errorText(e)));
    return;
  }
  const list = el('ul', { class: 'comment-list' });
  for (const c of comments || []) {
    list.append(el('li', {},
      el('p', { class: 'meta' }, t('comment.by', { who: identityName(c.author), when: fmtDateTime(c.at) })),
      el('p', { class: c.hidden ? 'muted' : '' }, c.hidden ? t('proposal.hidden') : c.text)));
  }
  if (!(comments || []).length) list.append(el('li', { class: 'muted' }, t('comment.none')));
  const fid = 'comment-' + item.id;
  const input = el('textarea', { id: fid, rows: 2, required: true, maxlength: 2000 });
  const err = el('p', { class: 'error', role: 'alert' });
  const form = el('form', { class: 'stack' },
    el('label', { for: fid }, t('comment.label')), input,
    el('button', { type: 'submit' }, t('comment.send')), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const body = { text };
    if (state.identity) body.as = state.identity;
    try {
      await api('POST', `/proposals/${enc(item.id)}/comments`, body);
      live(t('comment.sent'));
      await loadComments(item);
      await refresh();
      const again = document.getElementById(fid);
      if (again) again.focus();
    } catch (e) {
      err.textContent = errorText(e);
    }
  });
  item.comments.replaceChildren(el('h3', {}, t('proposal.comments')), list, form);
}

// --- the document -------------------------------------------------------

function paintDoc(doc) {
  state.doc = doc;
  const s = doc.session || {};
  $('session-title').textContent = s.title || '';
  document.title = (s.title || '') + ' · ' + t('app.name');
  $('session-prompt').textContent = s.prompt || '';
  const n = (doc.proposals || []).length;
  $('session-count').textContent = t('scribe.count', { n, cap: s.cap });
  $('session-state').textContent = s.open === false ? t('scribe.closed_short') : '';
  showStep(s);
  showFreshness(doc.freshness);
  showHistory(doc);

  const list = $('proposals');
  const seen = new Set();
  (doc.proposals || []).forEach((p, i) => {
    seen.add(p.id);
    let item = items.get(p.id);
    if (!item) { item = makeItem(p); items.set(p.id, item); }
    paintItem(item, p);
    // Move only what is out of place: moving a node that holds the focus
    // would take the focus away from someone typing.
    if (list.children[i] !== item.li) list.insertBefore(item.li, list.children[i] || null);
  });
  for (const [id, item] of items) {
    if (!seen.has(id)) { item.li.remove(); items.delete(id); }
  }
  $('no-proposals').hidden = n > 0;

  const waiting = doc.waiting || [];
  $('waiting-section').hidden = waiting.length === 0;
  const wl = $('waiting');
  clear(wl);
  for (const w of waiting) {
    wl.append(el('li', {}, el('p', { class: 'ptext' }, w.text),
      el('p', { class: 'meta' }, t('proposal.from', { group: groupName(w.group) }))));
  }
  paintFull();
  paintMyWaiting();
}

// paintMyWaiting tells a group whose proposal ended up waiting (two
// laptops each accepted the last place at once) what happened and the
// way out, at the top of its page.
function paintMyWaiting() {
  const d = state.doc;
  const mine = new Set(myGroups().map((g) => g.id));
  const w = ((d && d.waiting) || []).find((x) => mine.has(x.group));
  $('my-waiting').hidden = !w;
  $('my-waiting').textContent = w ? t('scribe.my_waiting', { group: groupName(w.group), text: w.text }) : '';
}

async function refresh() {
  try {
    const [doc] = await Promise.all([
      api('GET', `/sessions/${enc(sid)}/document`),
      api('GET', '/groups').then((gs) => { state.groups = new Map((gs || []).map((g) => [g.id, g])); }),
    ]);
    paintDoc(doc);
    paintChooser();
  } catch (e) {
    $('propose-error').textContent = errorText(e);
  }
}

$('projection-link').setAttribute('href', `/s/${enc(sid)}/projection`);

follow((c) => !c.event && (!c.session || c.session === sid), async (remote) => {
  await refresh();
  if (remote) live(t('scribe.updated'));
});
loadPeople().catch((e) => { $('group-note').textContent = errorText(e); }).then(refresh);
