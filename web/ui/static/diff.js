// A word-level diff for a proposal's history: the longest common
// subsequence of words (whitespace kept as its own tokens), rendered as
// <ins>/<del> with text nodes only.

const MAX_CELLS = 4_000_000; // beyond this, show a replacement rather than a slow diff

export function tokens(s) {
  return String(s || '').split(/(\s+)/).filter((x) => x !== '');
}

// wordDiff returns [{op: '=', '-' or '+', text}], merged runs.
export function wordDiff(a, b) {
  const x = tokens(a);
  const y = tokens(b);
  let pre = 0;
  while (pre < x.length && pre < y.length && x[pre] === y[pre]) pre++;
  let suf = 0;
  while (suf < x.length - pre && suf < y.length - pre &&
         x[x.length - 1 - suf] === y[y.length - 1 - suf]) suf++;
  const xs = x.slice(pre, x.length - suf);
  const ys = y.slice(pre, y.length - suf);
  const out = [];
  const push = (op, text) => {
    if (!text) return;
    const last = out[out.length - 1];
    if (last && last.op === op) last.text += text;
    else out.push({ op, text });
  };
  push('=', x.slice(0, pre).join(''));
  if ((xs.length + 1) * (ys.length + 1) > MAX_CELLS) {
    push('-', xs.join(''));
    push('+', ys.join(''));
  } else {
    const n = xs.length, m = ys.length;
    const w = m + 1;
    const L = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        L[i * w + j] = xs[i] === ys[j] ? L[(i + 1) * w + j + 1] + 1
          : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
      }
    }
    let i = 0, j = 0;
    while (i < n && j < m) {
      if (xs[i] === ys[j]) { push('=', xs[i]); i++; j++; }
      else if (L[(i + 1) * w + j] >= L[i * w + j + 1]) { push('-', xs[i]); i++; }
      else { push('+', ys[j]); j++; }
    }
    while (i < n) push('-', xs[i++]);
    while (j < m) push('+', ys[j++]);
  }
  push('=', x.slice(x.length - suf).join(''));
  return out;
}

// renderDiff fills node with the diff of a and b.
export function renderDiff(node, a, b) {
  node.replaceChildren();
  for (const part of wordDiff(a, b)) {
    if (part.op === '=') node.append(document.createTextNode(part.text));
    else {
      const e = document.createElement(part.op === '+' ? 'ins' : 'del');
      e.textContent = part.text;
      node.append(e);
    }
  }
}
