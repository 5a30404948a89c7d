// Translations on the scribe page: each proposal lists its translations
// (out-of-date ones marked), and offers a small form to translate it when
// it has no up-to-date translation in the page's language (the group's
// language: the one its scribe reads the page in).

import { LANG, api, el, errorText, live, store, t, utf8Length } from './common.js';
import { LANGS, langName } from './arc.js';

const maxText = 8000;

// translationBox returns the button (for the proposal's row of actions),
// the node (translations and form) and paint(p) for one proposal. ctx
// gives what the page knows: canAct(), group(), identity(), refresh().
export function translationBox(pid, ctx) {
  const fid = 'translate-' + pid;
  const list = el('ul', { class: 'translations plain' });
  const button = el('button', { type: 'button', class: 'translate', 'aria-expanded': 'false', 'aria-controls': fid + '-form' });
  const lang = el('select', { id: fid + '-lang' });
  const from = el('select', { id: fid + '-from' }, el('option', { value: '' }, t('translate.from_unknown')));
  for (const l of LANGS) {
    lang.append(el('option', { value: l }, langName(l)));
    from.append(el('option', { value: l }, langName(l)));
  }
  const original = el('blockquote', { class: 'translate-original' });
  const text = el('textarea', { id: fid, rows: 3, maxlength: maxText, required: true });
  const err = el('p', { class: 'error', role: 'alert' });
  const cancel = el('button', { type: 'button', class: 'secondary' }, t('proposal.cancel'));
  const form = el('form', { id: fid + '-form', class: 'stack translate-form', hidden: true },
    el('p', { class: 'meta' }, t('translate.original')), original,
    el('div', { class: 'row' },
      el('div', { class: 'field' }, el('label', { for: fid + '-lang' }, t('translate.into')), lang),
      el('div', { class: 'field' }, el('label', { for: fid + '-from' }, t('translate.from')), from)),
    el('label', { for: fid }, t('translate.text')), text,
    el('div', { class: 'buttons' }, el('button', { type: 'submit' }, t('translate.save')), cancel), err);
  let p = null;
  let revision = null; // the revision the open form translates

  const close = () => {
    form.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    revision = null;
  };
  button.addEventListener('click', () => {
    if (!form.hidden) { close(); return; }
    revision = p.revision;
    original.textContent = p.text;
    lang.value = LANG;
    from.value = store.get('translate_from');
    if (from.value === LANG) from.value = '';
    const old = (p.translations || {})[LANG];
    text.value = old ? old.text : '';
    err.textContent = '';
    form.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    text.focus();
  });
  cancel.addEventListener('click', () => { close(); button.focus(); });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { group: ctx.group(), lang: lang.value, text: text.value.trim(), revision, as: ctx.identity() };
    if (!body.text) return;
    if (utf8Length(body.text) > maxText) { err.textContent = t('proposal.too_long', { n: utf8Length(body.text), max: maxText }); return; }
    if (from.value && from.value !== body.lang) body.from = from.value;
    store.set('translate_from', from.value);
    try {
      await api('POST', `/proposals/${encodeURIComponent(pid)}/translations`, body);
      close();
      live(t('translate.saved'));
      await ctx.refresh();
      button.focus();
    } catch (e) {
      err.textContent = errorText(e);
    }
  });

  const paint = (np) => {
    p = np;
    const trs = p.translations || {};
    list.replaceChildren(...Object.keys(trs).sort().map((l) => {
      const tr = trs[l];
      return el('li', { class: tr.stale ? 'translation stale' : 'translation', dataset: { lang: l } },
        el('span', { class: 'tlang' }, langName(l) + ': '),
        el('span', { lang: l }, tr.text),
        tr.stale ? el('span', { class: 'badge stale-badge' }, ' ' + t('translate.stale')) : '');
    }));
    list.hidden = list.children.length === 0;
    const mine = trs[LANG];
    button.textContent = mine ? t('translate.update', { lang: langName(LANG) }) : t('translate.button', { lang: langName(LANG) });
    button.hidden = !!p.hidden || (!!mine && !mine.stale);
    button.disabled = !ctx.canAct();
    if (p.hidden && !form.hidden) close();
  };
  return { button, node: el('div', { class: 'translation-box' }, list, form), paint };
}
