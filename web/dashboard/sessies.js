// dashboard/sessies.js: the coordinator's sessions (common/sessies.js), with the dashboard's
// menu. Signing in happens on the dashboard itself, so that is where a visitor is sent.
import { DASHBOARD_MENU, initPage } from '/common/layout.js';
import { showSessions } from '/common/sessies.js';

await initPage({ requireLogin: true, menu: DASHBOARD_MENU, home: '/dashboard/', loginPage: '/dashboard/' });
await showSessions(document.getElementById('sessies'), { loginPage: '/dashboard/' });
