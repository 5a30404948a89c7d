// The facilitator's page: members with remove, groups with seat and hide,
// sessions' open/close/cap, the seating, rotating the invite, hidden items with show, and the
// operations this node flagged as possibly backdated. Every action asks
// for confirmation and says what it does to laptops that are offline now.

import { $, api, clear, el, errorText, fmtDateTime, follow, live, shortId, t } from './common.js';
import { agendaControls } from './agenda.js';

let asFacilitator = '';

// confirmAction shows the confirmation dialog; it resolves to null when
// cancelled, else to { rotate } (the removal's offer of a rotation). The
// answer is taken from the button clicked, synchronously: a dialog's close
// event is queued, and may arrive after the next question opened.
let answer = null;
function confirmAction(text, offline, offerRotation) {
  $('confirm-text').textContent = text;
  $('confirm-offline').textContent = offline;
  $('confirm-rotate-row').hidden = !offerRotation;
  $('confirm-rotate').checked = true;
  settle(false);
  return new Promise((resolve) => {
    answer = (yes) => resolve(yes ? { rotate: offerRotation && $('confirm-rotate').checked } : null);
    $('confirm').showModal();
  });
}

function settle(yes) {
  const a = answer;
  answer = null;
  if (a) a(yes);
}

for (const [id, yes] of [['confirm-yes', true], ['confirm-no', false]]) {
  $(id).addEventListener('click', (e) => {
    e.preventDefault();
    settle(yes);
    $('confirm').close();
  });
}
$('confirm').addEventListener('cancel', () => settle(false));
// What was asked leaves the page with the dialog (it may name hidden text).
$('confirm').addEventListener('close', () => {
  if (!answer) { $('confirm-text').textContent = ''; }
});

function asQuery() { return asFacilitator ? '?as=' + encodeURIComponent(asFacilitator) : ''; }

function say(msg) {
  $('status').textContent = msg;
  live(msg);
}

// act asks, then calls with the answer (call(ok): ok.rotate is the
// removal's box); what it says on success is done.
async function act(question, offline, call, done, offerRotation) {
  const ok = await confirmAction(question, offline, offerRotation);
  if (!ok) return;
  try {
    await call(ok);
    if (done) say(ok.rotate ? done + ' ' + t('facilitate.rotated') : done);
  } catch (e) {
    // The node says "removed, but not rotated" when only the rotation failed.
    say(ok.rotate && /not rotated/.test(errorText(e)) ? t('facilitate.rotate_failed', { error: errorText(e) }) : errorText(e));
  }
  refresh();
}

function button(label, onclick, cls) {
  return el('button', { type: 'button', class: cls, onclick }, label);
}

function nameOf(x) { return x.name || (x.hidden ? t('facilitate.hidden_name') : shortId(x.id)); }

function memberRow(m) {
  const state = [m.facilitator ? t('facilitate.is_facilitator') : '', m.removed ? t('facilitate.removed') : '', m.hidden ? t('facilitate.name_hidden') : '']
    .filter(Boolean).join(' · ');
  const actions = [];
  if (!m.removed) {
    actions.push(button(t('facilitate.remove'), () => act(
      t('facilitate.remove_q', { name: nameOf(m) }), t('facilitate.remove_offline'),
      // One request removes and, if the box is checked, rotates the invite
      // sealed to the members that remain (POST /removals with rotate).
      (ok) => api('POST', '/removals', Object.assign({ identity: m.id }, asFacilitator ? { as: asFacilitator } : {}, ok.rotate ? { rotate: true } : {})),
      t('facilitate.removed_done', { name: nameOf(m) }), true), 'danger remove'));
  }
  actions.push(hideButton(m.id, m.hidden, nameOf(m)));
  return el('tr', { dataset: { id: m.id } }, el('td', {}, nameOf(m), ' ', el('code', { class: 'muted' }, shortId(m.id))), el('td', {}, state), el('td', { class: 'actions' }, actions));
}

function hideButton(id, hidden, name) {
  if (hidden) {
    return button(t('facilitate.show'), () => act(t('facilitate.show_q', { name }), t('facilitate.hide_offline'),
      () => api('DELETE', '/hidden/' + encodeURIComponent(id) + asQuery()), t('facilitate.shown_done')), 'show');
  }
  return button(t('facilitate.hide'), () => act(t('facilitate.hide_q', { name }), t('facilitate.hide_offline'),
    () => api('PUT', '/hidden/' + encodeURIComponent(id) + asQuery()), t('facilitate.hidden_done')), 'hide');
}

function groupRow(g) {
  const seatPath = '/groups/' + encodeURIComponent(g.id) + '/seat' + asQuery();
  const seat = g.seated
    ? button(t('facilitate.unseat'), () => act(t('facilitate.unseat_q', { name: nameOf(g) }), t('facilitate.seat_offline'),
      () => api('DELETE', seatPath), t('facilitate.unseated_done')), 'unseat')
    : button(t('facilitate.seat'), () => act(t('facilitate.seat_q', { name: nameOf(g) }), t('facilitate.seat_offline'),
      () => api('PUT', seatPath), t('facilitate.seated_done')), 'seat');
  const state = [g.seated ? t('facilitate.seated') : t('facilitate.not_seated'), g.hidden ? t('facilitate.name_hidden') : ''].filter(Boolean).join(' · ');
  return el('tr', { dataset: { id: g.id } }, el('td', {}, nameOf(g)), el('td', {}, state), el('td', { class: 'actions' }, seat, hideButton(g.id, g.hidden, nameOf(g))));
}

// ratifyButton ratifies a session's document (POST
// /sessions/{sid}/ratification); link downloads its ratified file, which
// the API serves to anyone who may read the document.
function ratifyParts(s, ratified) {
  const path = '/sessions/' + encodeURIComponent(s.id);
  const ratify = button(t('facilitate.ratify'), () => act(t('facilitate.ratify_q', { name: s.title }), t('facilitate.ratify_offline'),
    async () => {
      const r = await api('POST', path + '/ratification', asFacilitator ? { as: asFacilitator } : {});
      say(t('facilitate.ratified_done', { digest: r.digest }));
    }, null), 'ratify');
  if (!ratified) return [' ', ratify];
  const link = el('a', { href: '/api/v1' + path + '/ratified?format=html', download: '', class: 'download-ratified' }, t('facilitate.download_ratified'));
  return [' ', ratify, ' ', link];
}

function sessionRow(s, ratified) {
  const path = '/sessions/' + encodeURIComponent(s.id);
  const patch = (body) => api('PATCH', path, asFacilitator ? { ...body, as: asFacilitator } : body);
  const toggle = s.open
    ? button(t('facilitate.close'), () => act(t('facilitate.close_q', { name: s.title }), t('facilitate.session_offline'), () => patch({ open: false }), t('facilitate.closed_done')), 'close')
    : button(t('facilitate.open'), () => act(t('facilitate.open_q', { name: s.title }), t('facilitate.session_offline'), () => patch({ open: true }), t('facilitate.opened_done')), 'open');
  const capInput = el('input', { type: 'number', min: 1, max: 1000, value: s.cap, class: 'cap', 'aria-label': t('facilitate.cap') });
  const setCap = button(t('facilitate.set_cap'), () => {
    const cap = parseInt(capInput.value, 10);
    act(t('facilitate.cap_q', { name: s.title, cap }), t('facilitate.session_offline'), () => patch({ cap }), t('facilitate.cap_done'));
  }, 'set-cap');
  return el('tr', { dataset: { id: s.id } }, el('td', {}, el('a', { href: path.replace('/sessions/', '/s/') }, s.title || shortId(s.id))),
    el('td', {}, (s.open ? t('facilitate.session_open') : t('facilitate.session_closed')) + ' · ' + t('facilitate.cap_is', { cap: s.cap }) +
      (ratified ? ' · ' + t('facilitate.ratified_is', { when: fmtDateTime(ratified.ratification.at) }) : '')),
    el('td', { class: 'actions' }, toggle, ' ', capInput, setCap,
      agendaControls(s, patch, (sub, body) => api('POST', path + sub, asFacilitator ? { ...body, as: asFacilitator } : body), say),
      ...ratifyParts(s, ratified)));
}

function flagItem(f) {
  const why = f.reason === 'displaced' ? t('facilitate.flag_displaced', { what: shortId(f.displaced) }) : t('facilitate.flag_late', { contact: f.contact ? fmtDateTime(f.contact) : '' });
  return el('li', { class: 'flag', dataset: { op: f.op } },
    el('strong', {}, why), ' ',
    el('span', {}, t('facilitate.flag_times', { clock: fmtDateTime(f.clock), arrived: fmtDateTime(f.arrived) })), ' ',
    el('code', { class: 'muted' }, shortId(f.op)), ' ', t('facilitate.flag_by', { author: shortId(f.author) }), ' ',
    hideButton(f.op, false, shortId(f.op)));
}

// kindLabel names a kind of GET /hidden (each key written out, so that the
// catalog test sees it).
function kindLabel(kind) {
  switch (kind) {
    case 'identity': return t('facilitate.kind_identity');
    case 'group': return t('facilitate.kind_group');
    case 'event': return t('facilitate.kind_event');
    case 'proposal': return t('facilitate.kind_proposal');
    case 'revision': return t('facilitate.kind_revision');
    case 'comment': return t('facilitate.kind_comment');
    default: return kind;
  }
}

async function refresh() {
  try {
    const [ids, gathering, members, groups, sessions, flags, hiddenItems] = await Promise.all([
      api('GET', '/identities'), api('GET', '/gathering'), api('GET', '/members'), api('GET', '/groups'),
      api('GET', '/sessions'), api('GET', '/flags'), api('GET', '/hidden')]);
    const fac = (ids || []).find((i) => i.facilitator);
    asFacilitator = fac ? fac.id : '';
    $('not-facilitator').hidden = !!fac;
    $('gathering-name').textContent = gathering.name;
    $('seating-now').textContent = gathering.seating === 'seated' ? t('facilitate.seating_seated') : t('facilitate.seating_open');
    $('seating').value = gathering.seating;

    clear($('members'));
    for (const m of members || []) $('members').append(memberRow(m));
    clear($('groups'));
    for (const g of groups || []) $('groups').append(groupRow(g));
    const ratified = await Promise.all((sessions || []).map((s) => api('GET', '/sessions/' + encodeURIComponent(s.id) + '/ratified').catch(() => null)));
    clear($('sessions'));
    (sessions || []).forEach((s, i) => $('sessions').append(sessionRow(s, ratified[i])));

    clear($('flags'));
    for (const f of (flags || []).slice().reverse()) $('flags').append(flagItem(f));
    $('no-flags').hidden = (flags || []).length > 0;

    // Every kind of hidden content, from one list the node keeps
    // (GET /hidden): revisions and comments name their proposal.
    const hidden = hiddenItems || [];
    clear($('hidden'));
    for (const h of hidden) {
      const name = shortId(h.id);
      const parts = [kindLabel(h.kind) + ' ', el('code', {}, name)];
      if (h.proposal) parts.push(' ', t('facilitate.of_proposal', { id: shortId(h.proposal) }));
      $('hidden').append(el('li', { dataset: { id: h.id, kind: h.kind } }, ...parts, ' ', hideButton(h.id, true, name)));
    }
    $('no-hidden').hidden = hidden.length > 0;
  } catch (e) {
    say(errorText(e));
  }
}

$('set-seating').addEventListener('click', () => {
  const seating = $('seating').value;
  act(t(seating === 'seated' ? 'facilitate.seated_q' : 'facilitate.open_seating_q'), t('facilitate.seating_offline'),
    () => api('PATCH', '/gathering', asFacilitator ? { seating, as: asFacilitator } : { seating }), t('facilitate.seating_done'));
});

// Rotating on its own (a leaked invite, a departure without removal): the
// node seals the new secret to every member that remains, and the page
// shows the new invite to hand to whoever joins from now on.
$('rotate').addEventListener('click', () => {
  act(t('facilitate.rotate_q'), t('facilitate.rotate_offline'), async () => {
    const r = await api('POST', '/invite/rotation', asFacilitator ? { as: asFacilitator } : {});
    $('new-invite').value = r.invite;
    $('new-invite-box').hidden = false;
  }, t('facilitate.rotated'));
});

follow(null, refresh);
refresh();
