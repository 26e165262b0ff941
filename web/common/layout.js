// common/layout.js: the page frame every portal page shares: the header with the service
// name, the menu and who is logged in (with a log-out button). The menu lives here once, so a
// new page is added to it in one place. Pages call initPage() first.

import { currentUser, logout } from './api.js';
import { el } from './dom.js';

// The caregiver portal's menu. 'in': only when logged in, 'out': only when not, 'all': always.
const PORTAAL_MENU = [
  { href: '/zoeken.html', text: 'Zoeken', show: 'all' },
  { href: '/mijn-logeerplekken.html', text: 'Mijn logeerplekken', show: 'in' },
  { href: '/persoon.html', text: 'Mijn naaste', show: 'in' },
  { href: '/kennismaking.html', text: 'Kennismaken', show: 'in' },
  { href: '/mijn-gegevens.html', text: 'Mijn gegevens', show: 'in' },
  { href: '/vrije-logeerplekken.html', text: 'Vrije plekken', show: 'all' },
  { href: '/inloggen.html', text: 'Inloggen', show: 'out' },
  { href: '/registreren.html', text: 'Account maken', show: 'out' }
];


// Where to go after logging in: only a path on this site, never another origin.
export function returnPath(fallback = '/') {
  const p = new URLSearchParams(location.search).get('terug');
  return p && p.startsWith('/') && !p.startsWith('//') && !p.includes('\\') ? p : fallback;
}

export function loginUrl() {
  return '/inloggen.html?terug=' + encodeURIComponent(location.pathname + location.search);
}

function currentPath() {
  return location.pathname === '/' ? '/index.html' : location.pathname;
}

// The provider's bed board is one page; its menu jumps to the page's parts.
export const AANBIEDER_MENU = [
  { href: '/aanbieder/#bord', text: 'Beddenbord', show: 'in' },
  { href: '/aanbieder/#inlezen', text: 'Bestand inlezen', show: 'in' },
  { href: '/aanbieder/#aanvragen', text: 'Aanvragen', show: 'in' },
  { href: '/aanbieder/#aankomst-vertrek', text: 'Aankomst en vertrek', show: 'in' },
  { href: '/aanbieder/instellingen.html', text: 'Instellingen', show: 'in' },
  { href: '/aanbieder/koppelingen.html', text: 'Koppelingen en berichten', show: 'in' },
  { href: '/aanbieder/sleutels.html', text: 'API-sleutels', show: 'in' },
  { href: '/aanbieder/delen.html', text: 'Agenda en open cijfers', show: 'in' },
  { href: '/aanbieder/sessies.html', text: 'Mijn sessies', show: 'in' },
  { href: '/tweestaps.html', text: 'Tweestapsverificatie', show: 'in' },
  { href: '/inloggen.html?terug=%2Faanbieder%2F', text: 'Inloggen', show: 'out' }
];

// The coordinator's and the admin's pages beside the dashboard, which signs in and out on its
// own page.
export const DASHBOARD_MENU = [
  { href: '/dashboard/', text: 'Dashboard', show: 'in' },
  { href: '/dashboard/sessies.html', text: 'Mijn sessies', show: 'in' },
  { href: '/tweestaps.html', text: 'Tweestapsverificatie', show: 'in' }
];

// The menu of the person's own audience, for pages every audience shares.
export function menuFor(user) {
  if (user && user.role === 'provider') return AANBIEDER_MENU;
  if (user && (user.role === 'coordinator' || user.role === 'admin')) return DASHBOARD_MENU;
  return PORTAAL_MENU;
}

function renderHeader(header, user, menu = PORTAAL_MENU, home = '/') {
  const here = currentPath();
  const items = menu.filter((m) => m.show === 'all' || (m.show === 'in') === Boolean(user));
  const list = el('ul', { class: 'nav__list' }, ...items.map((m) => el('li', { class: 'nav__item' },
    el('a', { class: 'nav__link', href: m.href, 'aria-current': m.href === here ? 'page' : null }, m.text))));
  const inner = el('div', { class: 'page-header__inner' },
    el('a', { class: 'page-header__logo', href: home }, 'Logeerzorg Drenthe'));
  if (user) {
    const button = el('button', { type: 'button', class: 'button button--secondary button--small', id: 'uitloggen' }, 'Uitloggen');
    button.addEventListener('click', async () => {
      button.disabled = true;
      try { await logout(); } finally { location.assign('/?uitgelogd=1'); }
    });
    inner.append(el('p', { class: 'page-header__user' }, 'Ingelogd als ',
      el('strong', { id: 'ingelogd-als' }, user.display_name || user.email), ' ', button));
  }
  inner.append(el('nav', { class: 'nav', 'aria-label': 'Hoofdmenu' }, list));
  header.replaceChildren(el('a', { class: 'skip-link', href: '#main' }, 'Direct naar de inhoud'), inner);
}

// Draws the header and resolves to the logged-in account or null. With { requireLogin: true }
// a visitor who is not logged in is sent to the login page (and back here afterwards).
// { menu, home }: another audience's menu (e.g. AANBIEDER_MENU, or a function of the account
// such as menuFor) and where the logo leads; { loginPage }: where that audience signs in,
// when not the portal's page.
export async function initPage(options = {}) {
  let user = null;
  try {
    user = await currentUser();
  } catch (e) {
    user = null; // the page still works for what needs no login
  }
  const header = document.querySelector('header.page-header');
  // menu may be a function of the account: pages every audience shares use menuFor.
  const menu = typeof options.menu === 'function' ? options.menu(user) : options.menu;
  if (header) renderHeader(header, user, menu, options.home);
  if (!user && options.requireLogin) {
    location.replace(options.loginPage || loginUrl());
    return new Promise(() => {}); // the page is being left
  }
  document.body.dataset.ready = 'true';
  return user;
}
