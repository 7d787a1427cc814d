// Building DOM without markup strings: text always goes in as text, so nothing the API
// returns can become HTML, and no inline script or style attribute is ever written.

/** @typedef {import('./dom-types.js').Child} Child */
/** @typedef {import('./dom-types.js').Children} Children */

/**
 * An element with attributes and children. `class`, `dataset`, `on<event>` handlers and the
 * `value`/`checked`/`disabled` properties are handled; `true` sets an empty attribute, and
 * false, null or undefined leave it out.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...Children} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    else if (key === 'value' || key === 'checked' || key === 'disabled') Object.assign(el, { [key]: value });
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/**
 * Appends children, flattening arrays and skipping empty ones.
 * @param {Node} parent
 * @param {Children[]} children
 */
export function append(parent, children) {
  for (const child of /** @type {Child[]} */ (/** @type {unknown[]} */ (children).flat(Infinity))) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** @type {(() => void)[]} */
const mounted = [];

/**
 * Runs `fn` once the content being built is on the page (`swap`), when it has a size: what a
 * canvas needs before it can draw.
 * @param {() => void} fn
 */
export function whenMounted(fn) {
  mounted.push(fn);
}

/**
 * Replaces what `parent` shows, keeping the focus (and the caret) on the element with the
 * same `data-focus` key, so a page redrawn by a live change does not steal the keyboard.
 * @param {HTMLElement} parent
 * @param {Node} content
 */
export function swap(parent, content) {
  const active = document.activeElement;
  const key = active instanceof HTMLElement ? active.dataset.focus : undefined;
  const caret = active instanceof HTMLInputElement ? [active.selectionStart, active.selectionEnd] : undefined;
  parent.replaceChildren(content);
  for (const fn of mounted.splice(0)) fn();
  if (key === undefined) return;
  const again = parent.querySelector(`[data-focus="${CSS.escape(key)}"]`);
  if (!(again instanceof HTMLElement)) return;
  again.focus();
  if (again instanceof HTMLInputElement && caret && typeof caret[0] === 'number' && typeof caret[1] === 'number') again.setSelectionRange(caret[0], caret[1]);
}

/**
 * A command a person can copy: shown as code, selected whole on click.
 * @param {string} command
 */
export function commandLine(command) {
  const code = h('code', { class: 'command' }, command);
  code.addEventListener('click', () => {
    const selection = window.getSelection();
    selection?.selectAllChildren(code);
  });
  return code;
}
