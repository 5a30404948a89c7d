// The network: this node, its peers, the path each was found by, when each
// last synced, and the invite.

import { $, LANG, api, clear, el, errorText, fmtDateTime, freshnessLine, gatheringName, relTime, t, tn } from './common.js';

const showFreshness = freshnessLine($('freshness'));

async function refresh() {
  try {
    const [st, peers] = await Promise.all([
      api('GET', '/status'),
      api('GET', '/peers').catch(() => null),
    ]);
    $('gathering-name').textContent = gatheringName(st);
    $('peer-id').textContent = st.peer_id || '';
    $('ops').textContent = String(st.ops ?? '');
    paintAddrs(st.addrs || []);
    const list = peers || st.peers || [];
    showFreshness(st.freshness || { peers: list.length });
    const body = $('peers');
    clear(body);
    for (const p of list) {
      // An unreachable peer stopped answering and its connection was
      // closed; the node keeps redialling it.
      const down = p.state === 'unreachable';
      const since = p.since ? el('time', { datetime: p.since, title: fmtDateTime(p.since) }, relTime(p.since)) : '';
      body.append(el('tr', { class: down ? 'unreachable' : null },
        el('td', {}, whoText(p) ? el('span', { class: 'peer-who' }, whoText(p)) : null, el('code', { class: 'peer-id' }, p.peer_id || '')),
        el('td', {}, t('via.' + (p.via || 'unknown'))),
        el('td', { title: down ? p.reason || '' : null }, down ? el('span', { class: 'peer-state' }, t('network.unreachable'), ' ', since) : since),
        el('td', {}, p.last_sync ? el('time', { datetime: p.last_sync, title: fmtDateTime(p.last_sync) }, relTime(p.last_sync)) : t('network.never'))));
    }
    $('no-peers').hidden = list.length > 0;
    $('peers-table').hidden = list.length === 0;
  } catch (e) {
    $('freshness').textContent = errorText(e);
  }
}

// Addresses other machines can dial come first; loopback and link-local
// ones (of use on this laptop only, or with an interface named) are folded
// away, unless they are all there is.
const local = /^\/ip4\/127\.|^\/ip6\/::1\/|^\/ip6\/fe80:/i;

function paintAddrs(all) {
  let main = all.filter((a) => !local.test(a));
  let rest = all.filter((a) => local.test(a));
  if (!main.length) [main, rest] = [rest, []];
  const list = (into, addrs) => {
    clear(into);
    for (const a of addrs) into.append(el('li', {}, el('code', {}, a)));
  };
  list($('addrs'), main);
  list($('addrs-rest'), rest);
  $('addrs-more').hidden = rest.length === 0;
  $('addrs-more-summary').textContent = tn('network.more_addrs', rest.length);
}

// whoText names the identities seen acting on a peer (the latest first,
// here in name order); hidden names are counted, not shown.
function whoText(p) {
  const ids = p.identities || [];
  if (!ids.length) return '';
  const names = ids.map((i) => i.name).filter(Boolean).sort((a, b) => a.localeCompare(b, LANG));
  const unnamed = ids.length - names.length;
  if (unnamed) names.push(tn('event.unnamed', unnamed));
  return new Intl.ListFormat(LANG, { style: 'long', type: 'conjunction' }).format(names);
}

const copy = $('copy-invite');
if (copy) {
  copy.addEventListener('click', async () => {
    const text = $('invite').value;
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {
      $('invite').select();
      document.execCommand('copy');
    }
    copy.textContent = t('network.copied');
    setTimeout(() => { copy.textContent = t('network.copy'); }, 2000);
  });
}

setInterval(refresh, 5000);
refresh();
