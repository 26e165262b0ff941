// portaal/toegangssleutels.js: the caregiver's passkeys (common/toegangssleutels.js) on their
// own page.
import { initPage } from '/common/layout.js';
import { showPasskeys } from '/common/toegangssleutels.js';

await initPage({ requireLogin: true });
await showPasskeys(document.getElementById('sleutels'));
