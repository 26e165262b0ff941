// dom: the one small element builder every page uses, so that no page writes its own.
// el('p', {class: 'muted', hidden: true}, 'text', child): attributes that are null, undefined
// or false are left out, true becomes an empty attribute, and null or undefined children are
// skipped (so a page can write `cond ? el(...) : null`).
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v; else node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}
