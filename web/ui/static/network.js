// The network: this node, its peers, the path each was found by, when each
// last synced, and the invite.

import { $, api, clear, el, errorText, fmtDateTime, freshnessLine, gatheringName, relTime, t } from './common.js';

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
    const addrs = $('addrs');
    clear(addrs);
    for (const a of st.addrs || []) addrs.append(el('li', {}, el('code', {}, a)));
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
        el('td', {}, el('code', { class: 'peer-id' }, p.peer_id || '')),
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
