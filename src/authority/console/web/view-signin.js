// Sign-in: paste an API token. It stays in this tab (session storage) and goes to this
// authority's API as the bearer token; sidecar tokens are refused with the reason.

import { commandLine, h } from './dom.js';
import { signIn } from './session.js';

/**
 * @param {{ message: string | null, onSignedIn: (session: { api: import('./api.js').Api, me: import('./api-types.js').Whoami }) => void }} o
 */
export function signInPage(o) {
  const token = h('input', { class: 'input', id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: 'pw.…', required: true, 'aria-describedby': 'signin-help', dataset: { focus: 'token' } });
  const error = h('p', { class: 'signin-error', role: 'alert', hidden: o.message === null, dataset: { test: 'signin-error' } }, o.message ?? '');
  const button = h('button', { type: 'submit', class: 'button primary wide' }, 'Sign in');
  const form = h(
    'form',
    { class: 'signin-form', novalidate: true },
    h('label', { for: 'token', class: 'field' }, h('span', {}, 'API token'), token),
    error,
    button,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (token.value.trim() === '') {
      error.textContent = 'Paste an admin or viewer token.';
      error.hidden = false;
      return;
    }
    button.disabled = true;
    button.textContent = 'Signing in…';
    const result = await signIn(token.value);
    if (result.ok) return o.onSignedIn(result);
    error.textContent = result.message;
    error.hidden = false;
    button.disabled = false;
    button.textContent = 'Sign in';
    token.select();
  });
  return h(
    'div',
    { class: 'signin' },
    h(
      'div',
      { class: 'signin-card' },
      h('div', { class: 'brand signin-brand' }, h('img', { src: '/ui/favicon.svg', alt: '', width: 28, height: 28 }), h('span', {}, 'portwarden'), h('span', { class: 'brand-sub' }, 'console')),
      h('h1', {}, 'Sign in'),
      h('p', { class: 'muted' }, 'The port register, its licenses and who uses them, live from this authority.'),
      form,
      h(
        'div',
        { class: 'signin-help', id: 'signin-help' },
        h('p', {}, h('strong', {}, 'Admin'), ': the token ', h('code', {}, 'portwarden up'), ' and the authority wrote on first start:'),
        commandLine('cat data/admin.token'),
        h('p', {}, h('strong', {}, 'Read-only'), ': a viewer token sees everything and changes nothing:'),
        commandLine('portwarden tokens create --role viewer --name dashboard'),
        h('p', { class: 'fine' }, 'The token is kept in this tab only (session storage, never a cookie) and is sent only to this authority. Sidecar tokens cannot sign in.'),
      ),
    ),
  );
}
