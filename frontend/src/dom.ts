// A tiny DOM builder: the UI is a handful of forms, no framework needed.

type Attrs = Record<string, string | boolean | ((e: Event) => void) | undefined>;
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

/** field builds a labelled input with a place for its error message. */
export function field(id: string, label: string, type: string, extra: Attrs = {}): HTMLElement {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h('input', { id, name: id, type, autocomplete: 'off', ...extra }),
    h('div', { class: 'field-error', id: `${id}-error`, role: 'alert' }),
  );
}

export function inputValue(root: ParentNode, id: string): string {
  const el = root.querySelector<HTMLInputElement>(`#${id}`);
  return el?.value ?? '';
}
