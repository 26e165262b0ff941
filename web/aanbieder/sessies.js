// aanbieder/sessies.js: the staff member's sessions (common/sessies.js), with the board's menu.
import { AANBIEDER_MENU, initPage } from '/common/layout.js';
import { showSessions } from '/common/sessies.js';

await initPage({ requireLogin: true, menu: AANBIEDER_MENU, home: '/aanbieder/' });
await showSessions(document.getElementById('sessies'), { loginPage: '/inloggen.html' });
