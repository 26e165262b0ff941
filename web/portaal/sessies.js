// portaal/sessies.js: the caregiver's sessions (common/sessies.js) on their own page.
import { initPage } from '/common/layout.js';
import { showSessions } from '/common/sessies.js';

await initPage({ requireLogin: true });
await showSessions(document.getElementById('sessies'));
